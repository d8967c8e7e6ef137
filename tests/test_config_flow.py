"""Tests of the community config flow and the building subentry flow."""

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_community.const import (
    CONF_BUILDING_ID,
    DOMAIN,
    SUBENTRY_TYPE_BUILDING,
)


async def test_user_creates_community(hass: HomeAssistant) -> None:
    """A name creates a community entry titled with it."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "  荣悦台 "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "荣悦台"
    assert result["data"] == {CONF_NAME: "荣悦台"}
    assert result["result"].unique_id == "荣悦台"


async def test_user_empty_name(hass: HomeAssistant) -> None:
    """A blank name is refused on the form, and the flow can still finish."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "   "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_required"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Garden Court"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_duplicate_community(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The same name, folded for case and width, is set up only once."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "荣悦台"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_renames(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Reconfigure renames the community and reloads it under the new name."""
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "荣悦台二期"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.title == "荣悦台二期"
    assert entry.unique_id == "荣悦台二期"
    assert entry.runtime_data.name == "荣悦台二期"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    assert device.name == "荣悦台二期"


async def test_reconfigure_refuses_taken_or_empty_name(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Another community's name and a blank name are refused on the form."""
    MockConfigEntry(
        domain=DOMAIN,
        title="Garden Court",
        data={CONF_NAME: "Garden Court"},
        unique_id="gardencourt",
    ).add_to_hass(hass)
    result = await init_integration.start_reconfigure_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "GARDEN COURT"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_in_use"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: " "}
    )
    assert result["errors"] == {CONF_NAME: "name_required"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "荣悦台"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


async def test_building_subentry_added(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A building is added as a subentry, after a bad code and a taken code."""
    entry = init_integration
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_BUILDING), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_BUILDING_ID: "3-1", CONF_NAME: ""}
    )
    assert result["errors"] == {
        CONF_BUILDING_ID: "invalid_building_id",
        CONF_NAME: "name_required",
    }

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_BUILDING_ID: "1", CONF_NAME: "又一个1号楼"}
    )
    assert result["errors"] == {CONF_BUILDING_ID: "building_exists"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_BUILDING_ID: " 3 ", CONF_NAME: "3号楼"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    subentry = next(s for s in entry.subentries.values() if s.unique_id == "building_3")
    assert subentry.title == "3号楼"
    assert subentry.data == {CONF_BUILDING_ID: "3", CONF_NAME: "3号楼"}
    assert "3" in entry.runtime_data.buildings


async def test_building_subentry_renamed(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Reconfiguring a building renames it and keeps its code."""
    entry = init_integration
    subentry = next(s for s in entry.subentries.values() if s.unique_id == "building_1")
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"] == {"building_id": "1"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: ""}
    )
    assert result["errors"] == {CONF_NAME: "name_required"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "一号楼"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[subentry.subentry_id].title == "一号楼"
    assert entry.subentries[subentry.subentry_id].data[CONF_BUILDING_ID] == "1"
    assert entry.runtime_data.buildings["1"].name == "一号楼"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry.subentry_id), entry.entry_id
    )
    assert device is not None
    assert device.name == "一号楼"
