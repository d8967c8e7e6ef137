"""Seed the demo: onboard Home Assistant and create the demo community through its APIs.

Everything goes through Home Assistant's public HTTP APIs (onboarding, login flow,
config flows, actions), the way a person in the browser would do it, so the demo
also exercises the integration's own flows. Runs again safely: what exists is kept.
"""

import argparse
import asyncio
import csv
from datetime import UTC, datetime
import io
import json
import os
from pathlib import Path
import random
import sys
import time
from typing import Any, Final

import aiohttp
from demo_eldercare import EldercareError, set_up_eldercare

DOMAIN = "smart_community"
USERNAME = "demo"
PASSWORD = "smart-community"
STARTUP_TIMEOUT = 300.0

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN_NAMES = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "玉兰",
    "志强",
    "海燕",
    "俊杰",
    "子涵",
    "欣怡",
    "浩然",
    "梓萱",
    "宇轩",
    "雨桐",
    "思远",
    "国庆",
    "淑珍",
]
CITY_LETTERS = "ABCDEFGHJ"
PARKING_LOT = "地下停车场"
PARKING_SPACES = 120
# Where Home Assistant listens as the fire monitoring centre in the demo.
DEMO_FIRE_PORT = 9500
# Where Home Assistant listens as the charging stations' OCPP central system.
DEMO_OCPP_PORT = 9000
DEMO_OCPP_URL = f"ws://127.0.0.1:{DEMO_OCPP_PORT}/ocpp"
# Visitors' cars in the demo traffic: two with a pass valid for a month, one
# whose pass has ended; the simulated cameras also see strangers.
VISITOR_PLATES = ("沪C54321", "苏E12345")
EXPIRED_VISITOR_PLATE = "浙A66666"
STRANGER_PLATES = ("湘A88888", "粤SD12345", "京N0Q123")
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


class DemoError(Exception):
    """The demo could not be seeded."""


def demo_residents_csv(buildings: list[dict[str, Any]]) -> bytes:
    """Generate the demo's residents: households, elderly living alone, vehicles.

    Residents are numbered D0001, D0002, … so that the demo can enrol the first
    faces of each building and a newcomer can present them at a terminal.
    """
    rng = random.Random(2026)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["resident_id", "name", "building", "unit", "room", "phone", "tags", "plates"]
    )
    number = 0
    used_plates: set[str] = set()
    for building in buildings:
        for unit in range(1, building["units"] + 1):
            for floor in range(1, building["floors"] + 1):
                for door in range(1, building["rooms_per_floor"] + 1):
                    if rng.random() < 0.2:
                        continue  # an empty flat
                    room = f"{floor}{door:02d}"
                    elderly_alone = rng.random() < 0.06
                    size = 1 if elderly_alone else rng.choice((1, 2, 2, 3, 3, 4))
                    plates = []
                    if not elderly_alone and rng.random() < 0.45:
                        while True:
                            tail = "".join(rng.choice(PLATE_CHARS) for _ in range(5))
                            plate = f"粤{rng.choice(CITY_LETTERS)}{tail}"
                            if rng.random() < 0.3:
                                plate = f"粤B{rng.choice('DF')}{rng.randrange(10000, 99999)}"
                            if plate not in used_plates:
                                used_plates.add(plate)
                                plates.append(plate)
                                break
                    for member in range(size):
                        number += 1
                        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
                        phone = f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}"
                        writer.writerow(
                            [
                                f"D{number:04d}",
                                name,
                                building["id"],
                                str(unit),
                                room,
                                phone,
                                "elderly_living_alone" if elderly_alone else "",
                                ";".join(plates) if member == 0 else "",
                            ]
                        )
    return out.getvalue().encode("utf-8")


def _is_running(pid: int) -> bool:
    """Tell whether a process is still alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


FACES_PER_BUILDING = 2


MEDIA: Final = Path(__file__).parents[2] / "simulator" / "media"


def demo_face_photos() -> list[Path]:
    """Return one photo per person of the simulator's media, to stand for residents.

    Enrolment checks that a photo shows a face (recognition cameras embed it), so
    the demo's residents borrow real faces; a camera showing one recognises them.
    """
    index = json.loads((MEDIA / "index.json").read_text(encoding="utf-8"))
    first: dict[str, Path] = {}
    for face in index["faces"]:
        first.setdefault(face["identity"], MEDIA / face["file"])
    return list(first.values())


async def enroll_demo_faces(
    client: HomeAssistantClient, entry_id: str, residents: Path, imports: Path
) -> list[str]:
    """Enrol face photos of the first residents of each building; return their IDs."""
    chosen: dict[str, list[str]] = {}
    with residents.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            ids = chosen.setdefault(row["building"], [])
            if len(ids) < FACES_PER_BUILDING:
                ids.append(row["resident_id"])
    enrolled = [resident_id for ids in chosen.values() for resident_id in ids]
    faces = demo_face_photos()
    for number, resident_id in enumerate(enrolled):
        photo = imports / f"face_{resident_id}.jpg"
        photo.write_bytes(faces[number % len(faces)].read_bytes())
        await client.request(
            "POST",
            f"/api/services/{DOMAIN}/enroll_face",
            {
                "config_entry_id": entry_id,
                "resident_id": resident_id,
                "path": str(photo),
            },
        )
    return enrolled


# What each simulated camera scene is, as a recognition camera's role.
DEMO_CAMERA_ROLES: Final = {"door": "door", "gate": "gate_lane", "elevator": "elevator"}


def _demo_stream_url(device: dict[str, Any]) -> str:
    """Return a simulated camera's MJPEG address, with its credentials if it has any."""
    options = device["options"]
    credentials = ""
    if options.get("username"):
        credentials = f"{options['username']}:{options['password']}@"
    return f"http://{credentials}{device['host']}:{device['port']}/mjpeg"


def demo_plates() -> list[str]:
    """Return the residents' plates of the demo, as demo_residents_csv makes them."""
    scenario = json.loads(
        (Path(__file__).parents[2] / "simulator" / "scenarios" / "demo.json").read_text(
            encoding="utf-8"
        )
    )
    rows = csv.DictReader(
        io.StringIO(demo_residents_csv(scenario["buildings"]).decode())
    )
    return [plate for row in rows for plate in row["plates"].split(";") if plate]


async def add_demo_visitors(client: HomeAssistantClient, entry_id: str) -> None:
    """Give the demo's visitor plates passes hosted by the first resident."""
    now = time.time()
    passes = [(plate, now - 3600, now + 30 * 86400) for plate in VISITOR_PLATES]
    passes.append((EXPIRED_VISITOR_PLATE, now - 2 * 86400, now - 86400))
    for number, (plate, start, end) in enumerate(passes, start=1):
        await client.request(
            "POST",
            f"/api/services/{DOMAIN}/add_visitor_pass",
            {
                "config_entry_id": entry_id,
                "visitor_name": f"访客{number}",
                "host_resident_id": "D0001",
                "plate": plate,
                "valid_from": _local_time(start),
                "valid_until": _local_time(end),
            },
        )


def _local_time(epoch: float) -> str:
    """Write an instant as ISO 8601 with its UTC offset."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class HomeAssistantClient:
    """A small client for the HTTP APIs the demo needs."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        """Talk to the Home Assistant at url."""
        self.session = session
        self.url = url
        self.client_id = f"{url}/"
        self.token: str | None = None

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        """Send a request and return its JSON answer; fail clearly on an error."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, f"{self.url}{path}", json=payload, headers=headers
        ) as response:
            if response.status >= 400:
                raise DemoError(
                    f"{method} {path}: {response.status} {await response.text()}"
                )
            return await response.json(content_type=None)

    async def wait_until_up(self, hass_pid: int | None) -> None:
        """Wait for the HTTP server, and stop waiting if Home Assistant died."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        while loop.time() < deadline:
            if hass_pid is not None and not _is_running(hass_pid):
                raise DemoError(
                    "Home Assistant exited during startup; see .develop/hass.log"
                )
            try:
                async with self.session.get(f"{self.url}/api/onboarding") as response:
                    if response.status in (200, 401, 404):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
        raise DemoError(f"Home Assistant did not answer within {STARTUP_TIMEOUT:.0f} s")

    async def token_from_code(self, code: str) -> None:
        """Trade an authorization code for an access token."""
        async with self.session.post(
            f"{self.url}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        ) as response:
            if response.status != 200:
                raise DemoError(f"token exchange failed: {response.status}")
            self.token = (await response.json())["access_token"]

    async def onboard_or_login(self) -> None:
        """Create the demo owner on a fresh instance, or log in as them."""
        # Once onboarding is finished, Home Assistant no longer serves its API.
        async with self.session.get(f"{self.url}/api/onboarding") as response:
            steps = await response.json() if response.status == 200 else []
        if any(step["step"] == "user" and not step["done"] for step in steps):
            answer = await self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": "Demo Manager",
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "zh-Hans",
                },
            )
            await self.token_from_code(answer["auth_code"])
            await self.request("POST", "/api/onboarding/core_config")
            await self.request("POST", "/api/onboarding/analytics")
            await self.request(
                "POST",
                "/api/onboarding/integration",
                {
                    "client_id": self.client_id,
                    "redirect_uri": f"{self.url}/?auth_callback=1",
                },
            )
            return
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": USERNAME, "password": PASSWORD},
        )
        if result.get("type") != "create_entry":
            raise DemoError(
                "the demo login was refused; delete config/ to start afresh"
            )
        await self.token_from_code(result["result"])

    async def community_entry(self, name: str) -> str:
        """Return the demo community's entry ID, creating the entry if needed."""
        entries = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        for entry in entries:
            if entry["title"] == name:
                return str(entry["entry_id"])
        flow = await self.request(
            "POST", "/api/config/config_entries/flow", {"handler": DOMAIN}
        )
        result = await self.request(
            "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {"name": name}
        )
        if result.get("type") != "create_entry":
            raise DemoError(f"creating the community failed: {result}")
        return str(result["result"]["entry_id"])

    async def add_building(self, entry_id: str, building: dict[str, Any]) -> bool:
        """Add a building subentry unless the community has it already."""
        flow = await self.request(
            "POST",
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "building"]},
        )
        result = await self.request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            {"building_id": building["id"], "name": building["name"]},
        )
        if result.get("type") == "create_entry":
            return True
        await self.request(
            "DELETE", f"/api/config/config_entries/subentries/flow/{flow['flow_id']}"
        )
        return False

    async def wait_until_loaded(self, entry_id: str) -> None:
        """Wait for the community to finish (re)loading after its devices changed."""
        async with asyncio.timeout(60):
            while True:
                entries = await self.request(
                    "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
                )
                if any(
                    entry["entry_id"] == entry_id and entry["state"] == "loaded"
                    for entry in entries
                ):
                    return
                await asyncio.sleep(0.5)

    async def websocket(self, command: dict[str, Any]) -> Any:
        """Send one websocket command (some APIs have no REST form); return its result."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as socket:
            await socket.receive_json()  # auth_required
            await socket.send_json({"type": "auth", "access_token": self.token})
            if (await socket.receive_json()).get("type") != "auth_ok":
                raise DemoError("the websocket refused the demo's token")
            await socket.send_json({"id": 1, **command})
            answer = await socket.receive_json()
        if not answer.get("success"):
            raise DemoError(f"{command['type']} failed: {answer}")
        return answer["result"]

    async def confirm_http_config(self) -> bool:
        """Confirm the HTTP settings taken from the demo's YAML; say if there were any.

        Home Assistant tries HTTP settings from YAML as a pending trial and, unless
        someone confirms them within five minutes, reverts them and restarts, which
        would end the demo. The demo listens on loopback only, as its YAML says.
        """
        http = await self.websocket({"type": "http/config"})
        pending = http.get("pending")
        if (
            http.get("active_config_type") != "pending"
            or pending is None
            or pending.get("error") is not None
        ):
            return False
        await self.websocket({"type": "http/config/promote"})
        return True

    async def subentries(self, entry_id: str) -> list[dict[str, Any]]:
        """List a community's subentries (websocket only in Home Assistant)."""
        return list(
            await self.websocket(
                {"type": "config_entries/subentries/list", "entry_id": entry_id}
            )
        )

    async def subentry_flow(
        self, entry_id: str, kind: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Start a subentry flow and submit its first form."""
        flow = await self.request(
            "POST",
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, kind]},
        )
        result: dict[str, Any] = await self.request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            data,
        )
        return result

    async def finish_flow(self, result: dict[str, Any]) -> dict[str, Any]:
        """Submit a flow's last (empty) step, or cancel a flow left on a form."""
        path = f"/api/config/config_entries/subentries/flow/{result['flow_id']}"
        if result.get("type") != "form":
            return result
        if result.get("errors"):
            await self.request("DELETE", path)
            return result
        answer: dict[str, Any] = await self.request("POST", path, {})
        return answer

    async def add_gate(self, entry_id: str, scenario: dict[str, Any]) -> list[str]:
        """Add the car park and a lane per plate camera; point each camera at HA.

        A lane's push address holds a secret made when the lane is added, so on
        every run the address is read back from the lane's reconfigure form and
        given to the (freshly started) simulated camera.
        """
        notes = []
        lot = await self.subentry_flow(
            entry_id, "parking_lot", {"name": PARKING_LOT, "capacity": PARKING_SPACES}
        )
        await self.finish_flow(lot)
        existing = await self.subentries(entry_id)
        lot_id = next(s["subentry_id"] for s in existing if s["title"] == PARKING_LOT)
        for device in scenario["devices"]:
            if device["kind"] != "plate_camera" or not device.get("implemented"):
                continue
            direction = device["options"]["lane"]
            form = {
                "name": device["name"],
                "direction": direction,
                "parking_lot": lot_id,
                "unknown_vehicles": "deny" if direction == "entry" else "allow",
                "visitors_allowed": True,
                "tolerance": 1,
                "relay_output": "none",
                "voice": True,
                "display": True,
                "comet_hold_seconds": 5,
            }
            lane = next((s for s in existing if s["title"] == device["name"]), None)
            if lane is None:
                result = await self.subentry_flow(entry_id, "plate_camera", form)
                push_url = result["description_placeholders"]["push_url"]
                await self.finish_flow(result)
                notes.append(f"{device['name']}: added")
            else:
                # The reconfigure form shows the address; the flow is then cancelled.
                flow = await self.request(
                    "POST",
                    "/api/config/config_entries/subentries/flow",
                    {
                        "handler": [entry_id, "plate_camera"],
                        "subentry_id": lane["subentry_id"],
                    },
                )
                push_url = flow["description_placeholders"]["push_url"]
                await self.request(
                    "DELETE",
                    f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
                )
            await self.set_camera_url(scenario, device["id"], push_url)
        return notes

    async def set_camera_url(
        self, scenario: dict[str, Any], device_id: str, push_url: str
    ) -> None:
        """Tell a simulated camera where to push."""
        async with self.session.post(
            f"{scenario['control_url']}/devices/{device_id}/actions/configure",
            json={"push_url": push_url},
        ) as response:
            if response.status != 200:
                raise DemoError(
                    f"the simulated camera {device_id} refused its push address: "
                    f"{await response.text()}"
                )

    async def add_safety_devices(
        self, entry_id: str, scenario: dict[str, Any]
    ) -> list[str]:
        """Add each simulated meter, fire panel, speaker zone and charging station."""
        notes = []
        for device in scenario["devices"]:
            if not device.get("implemented"):
                continue
            options = device["options"]
            if device["kind"] == "power_meter":
                form = {
                    "name": device["name"],
                    "host": device["host"],
                    "port": device["port"],
                    "unit_id": options.get("unit_id", 1),
                    "register_map": options["register_map"],
                    "poll_interval": 10,
                }
                if device["building"] is not None:
                    form["building"] = device["building"]
                result = await self.subentry_flow(entry_id, "power_meter", form)
            elif device["kind"] == "speaker_zone":
                form = {
                    "name": device["name"],
                    "host": device["host"],
                    "port": device["port"],
                    "codec": options.get("codec", "PCMU"),
                    "ttl": 16,
                    "chime": True,
                }
                if device["building"] is not None:
                    form["building"] = device["building"]
                result = await self.subentry_flow(entry_id, "speaker_zone", form)
            elif device["kind"] == "fire_panel":
                result = await self.subentry_flow(
                    entry_id,
                    "fire_panel",
                    {
                        "name": device["name"],
                        "transmitter_address": options["transmitter_address"],
                        "checksum": options.get("checksum", "sum"),
                        "port": DEMO_FIRE_PORT,
                    },
                )
            elif device["kind"] == "charging_station":
                # The cut-off thresholds keep the flow's defaults.
                form = {
                    "name": device["name"],
                    "charge_point_id": options["charge_point_id"],
                    "port_count": options.get("ports", 10),
                    "port": DEMO_OCPP_PORT,
                }
                if options.get("password"):
                    form["password"] = options["password"]
                if device["building"] is not None:
                    form["building"] = device["building"]
                result = await self.subentry_flow(entry_id, "charging_station", form)
            elif device["kind"] == "camera":
                form = {
                    "name": device["name"],
                    "stream_url": _demo_stream_url(device),
                    "role": DEMO_CAMERA_ROLES.get(options.get("scene"), "general"),
                    "analysis_rate": 2,
                }
                if device["building"] is not None:
                    form["building"] = device["building"]
                result = await self.subentry_flow(entry_id, "camera", form)
            else:
                continue
            result = await self.finish_flow(result)
            outcome = result.get("errors") or result.get("reason") or result["type"]
            notes.append(f"{device['name']}: {outcome}")
        return notes

    async def connect_fire_panels(self, scenario: dict[str, Any]) -> None:
        """Make each simulated transmission device dial Home Assistant."""
        for device in scenario["devices"]:
            if device["kind"] != "fire_panel" or not device.get("implemented"):
                continue
            async with self.session.post(
                f"{scenario['control_url']}/devices/{device['id']}/actions/connect",
                json={"host": "127.0.0.1", "port": DEMO_FIRE_PORT},
            ) as response:
                if response.status != 200:
                    raise DemoError(
                        f"the simulated fire panel {device['id']} did not dial "
                        f"Home Assistant: {await response.text()}"
                    )

    async def add_charging_cards(self, entry_id: str, scenario: dict[str, Any]) -> int:
        """Register the cards the simulated stations' sessions start with.

        Each card goes to a resident of the station's building, so that Home
        Assistant accepts it. A card registered on an earlier run is refused
        (400) and kept as it is. Returns how many cards were added now.
        """
        rows = list(
            csv.DictReader(
                io.StringIO(demo_residents_csv(scenario["buildings"]).decode())
            )
        )
        added = 0
        for device in scenario["devices"]:
            if device["kind"] != "charging_station" or not device.get("implemented"):
                continue
            residents = [
                row["resident_id"]
                for row in rows
                if device["building"] is None or row["building"] == device["building"]
            ]
            tags = dict.fromkeys(
                session["id_tag"] for session in device["options"].get("sessions", [])
            )
            for resident_id, id_tag in zip(residents, tags, strict=False):
                try:
                    await self.request(
                        "POST",
                        f"/api/services/{DOMAIN}/add_card",
                        {
                            "config_entry_id": entry_id,
                            "resident_id": resident_id,
                            "card": id_tag,
                            "label": "电动自行车充电卡",
                        },
                    )
                except DemoError as err:
                    if " 400 " not in str(err):
                        raise
                else:
                    added += 1
        return added

    async def connect_charging_stations(self, scenario: dict[str, Any]) -> list[str]:
        """Make each simulated charging station dial Home Assistant; say how it went."""
        notes = []
        for device in scenario["devices"]:
            if device["kind"] != "charging_station" or not device.get("implemented"):
                continue
            async with self.session.post(
                f"{scenario['control_url']}/devices/{device['id']}/actions/connect",
                json={"url": DEMO_OCPP_URL},
            ) as response:
                if response.status != 200:
                    raise DemoError(
                        f"the simulated charging station {device['id']} did not dial "
                        f"Home Assistant: {await response.text()}"
                    )
                outcome = await response.json()
            if not outcome.get("connected"):
                notes.append(f"{device['name']}: not connected yet ({outcome})")
        return notes

    async def add_face_terminal(self, entry_id: str, device: dict[str, Any]) -> str:
        """Add a simulated face terminal through the subentry flow; say what happened."""
        flow = await self.request(
            "POST",
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "face_terminal"]},
        )
        options = device["options"]
        result = await self.request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            {
                "name": device["name"],
                "building": device["building"],
                "host": device["host"],
                "port": device["port"],
                "ssl": False,
                "verify_ssl": False,
                "username": options["username"],
                "password": options["password"],
                "doors": options.get("doors", 1),
            },
        )
        return str(result.get("reason") or result.get("type"))


async def seed(
    url: str, scenario: dict[str, Any], imports: Path, hass_pid: int | None
) -> None:
    """Bring the demo community into the running Home Assistant."""
    community_name = scenario["community"]["name"]
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session, url)
        await client.wait_until_up(hass_pid)
        await client.onboard_or_login()
        if await client.confirm_http_config():
            print(
                "develop: confirmed the HTTP settings (loopback only)", file=sys.stderr
            )
        entry_id = await client.community_entry(community_name)
        added = [
            b["name"]
            for b in scenario["buildings"]
            if await client.add_building(entry_id, b)
        ]
        for device in scenario["devices"]:
            if device["kind"] == "face_terminal" and device.get("implemented"):
                outcome = await client.add_face_terminal(entry_id, device)
                if outcome != "already_configured":
                    print(f"develop: {device['name']}: {outcome}", file=sys.stderr)
        await client.wait_until_loaded(entry_id)
        for note in await client.add_gate(entry_id, scenario):
            print(f"develop: {note}", file=sys.stderr)
        await client.wait_until_loaded(entry_id)
        for note in await client.add_safety_devices(entry_id, scenario):
            print(f"develop: {note}", file=sys.stderr)
        await client.wait_until_loaded(entry_id)
        await client.connect_fire_panels(scenario)
        # Imported once, with the buildings; eldercare reads it on every start.
        residents = imports / "demo_residents.csv"
        if added or not residents.exists():
            residents.write_bytes(demo_residents_csv(scenario["buildings"]))
        if added:
            report = await client.request(
                "POST",
                f"/api/services/{DOMAIN}/import_residents?return_response",
                {
                    "config_entry_id": entry_id,
                    "path": str(residents),
                    "mode": "replace",
                },
            )
            print(
                f"develop: demo community {community_name}: buildings {', '.join(added)}; "
                f"residents {report['service_response']}",
                file=sys.stderr,
            )
            await add_demo_visitors(client, entry_id)
            enrolled = await enroll_demo_faces(client, entry_id, residents, imports)
            print(
                f"develop: face photos enrolled for {', '.join(enrolled)}; make a "
                "terminal see one: curl -X POST "
                f"{scenario['control_url']}/devices/face-1/actions/present_face "
                f'-d \'{{"employee_no": "{enrolled[0]}"}}\'',
                file=sys.stderr,
            )
        # Cards first: the stations start their sessions as soon as they boot.
        if cards := await client.add_charging_cards(entry_id, scenario):
            print(f"develop: {cards} charging cards registered", file=sys.stderr)
        for note in await client.connect_charging_stations(scenario):
            print(f"develop: {note}", file=sys.stderr)
        try:
            note = await set_up_eldercare(client, entry_id, scenario, residents)
        except EldercareError as err:
            note = f"eldercare is not set up: {err}"
        print(f"develop: {note}", file=sys.stderr)
    print(
        f"\n  Home Assistant: {url}\n  login: {USERNAME} / {PASSWORD}\n"
        f"  community: {community_name} (Settings > Devices & services > Smart Community)\n"
        "  Ctrl-C stops Home Assistant and the simulator.\n",
        file=sys.stderr,
    )


def main() -> None:
    """Parse the arguments and seed the demo."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--simulator", type=Path, required=True)
    parser.add_argument("--imports", type=Path, required=True)
    parser.add_argument("--hass-pid", type=int)
    args = parser.parse_args()
    try:
        scenario = json.loads(
            args.simulator.read_text(encoding="utf-8").splitlines()[0]
        )
        asyncio.run(seed(args.url, scenario, args.imports, args.hass_pid))
    except (DemoError, aiohttp.ClientError, OSError) as err:
        print(f"develop: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
