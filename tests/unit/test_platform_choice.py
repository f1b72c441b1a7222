"""Which client serves each platform: simulated by default, real when configured, refused at
once when a real one lacks its credentials or a simulated one its world; tokens never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.enrichment.clients import REAL_RATES, PlatformConfig, RealApis
from streams.enrichment.facebook import FacebookClient
from streams.enrichment.instagram import InstagramClient
from streams.enrichment.simulated_platform import SimulatedPlatform
from streams.enrichment.x_api import XClient
from streams.world import WorldConfig, generate_world
from streams.world.files import write_world
from tests.platform_apis import IG_USER, TOKEN

REAL = {"CROWDLOG_PLATFORM_X": "real", "CROWDLOG_PLATFORM_INSTAGRAM": "real",
        "CROWDLOG_PLATFORM_FACEBOOK": "real", "CROWDLOG_X_BEARER_TOKEN": TOKEN,
        "CROWDLOG_META_ACCESS_TOKEN": TOKEN, "CROWDLOG_INSTAGRAM_USER_ID": IG_USER}


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("world")
    write_world(generate_world(WorldConfig(athletes=10, seed=1, workers=3)), directory)
    return directory


def inner_types(config: PlatformConfig) -> dict[str, type]:
    return {name: type(client._inner) for name, client in config.clients().items()}


def test_without_a_world_or_a_real_platform_there_is_no_enrichment() -> None:
    assert PlatformConfig.from_env({}) is None


def test_every_platform_is_simulated_by_default(world_dir: Path) -> None:
    config = PlatformConfig.from_env({"CROWDLOG_WORLD_DIR": str(world_dir)})
    assert config is not None
    assert inner_types(config) == dict.fromkeys(("facebook", "instagram", "twitter"),
                                                SimulatedPlatform)


def test_each_platform_chooses_its_client(world_dir: Path) -> None:
    config = PlatformConfig.from_env({"CROWDLOG_WORLD_DIR": str(world_dir),
                                      "CROWDLOG_PLATFORM_X": "real",
                                      "CROWDLOG_X_BEARER_TOKEN": TOKEN})
    assert config is not None
    assert inner_types(config) == {"twitter": XClient, "instagram": SimulatedPlatform,
                                   "facebook": SimulatedPlatform}
    assert set(config.platforms()) == {"instagram", "facebook"}


def test_all_real_needs_no_world() -> None:
    config = PlatformConfig.from_env(REAL)
    assert config is not None and config.world_dir is None
    assert inner_types(config) == {"twitter": XClient, "instagram": InstagramClient,
                                   "facebook": FacebookClient}


def test_real_clients_are_paced_by_their_platform_s_limits() -> None:
    config = PlatformConfig.from_env({**REAL, "CROWDLOG_FETCH_RATE_FACEBOOK": "2.5"})
    assert config is not None
    assert dict(config.real.rates) == {"twitter": REAL_RATES["twitter"],
                                       "instagram": REAL_RATES["instagram"], "facebook": 2.5}


@pytest.mark.parametrize(("missing", "message"), [
    ("CROWDLOG_X_BEARER_TOKEN", "CROWDLOG_PLATFORM_X=real needs CROWDLOG_X_BEARER_TOKEN"),
    ("CROWDLOG_META_ACCESS_TOKEN",
     "CROWDLOG_PLATFORM_FACEBOOK=real needs CROWDLOG_META_ACCESS_TOKEN"),
    ("CROWDLOG_INSTAGRAM_USER_ID",
     "CROWDLOG_PLATFORM_INSTAGRAM=real needs CROWDLOG_INSTAGRAM_USER_ID")])
def test_a_real_platform_without_its_credentials_is_refused(missing: str,
                                                            message: str) -> None:
    env = {name: value for name, value in REAL.items() if name != missing}
    with pytest.raises(ValueError, match=message):
        PlatformConfig.from_env(env)


def test_a_simulated_platform_without_a_world_is_refused() -> None:
    env = {"CROWDLOG_PLATFORM_X": "real", "CROWDLOG_X_BEARER_TOKEN": TOKEN}
    with pytest.raises(ValueError, match=r"CROWDLOG_PLATFORM_INSTAGRAM=simulated .* needs "
                                         "CROWDLOG_WORLD_DIR"):
        PlatformConfig.from_env(env)


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="CROWDLOG_PLATFORM_X must be real or simulated"):
        PlatformConfig.from_env({"CROWDLOG_PLATFORM_X": "live"})


def test_tokens_come_from_files_too_and_never_show(tmp_path: Path) -> None:
    token_file = tmp_path / "x-token"
    token_file.write_text(TOKEN + "\n")
    env = {**REAL, "CROWDLOG_X_BEARER_TOKEN_FILE": str(token_file)}
    del env["CROWDLOG_X_BEARER_TOKEN"]
    config = PlatformConfig.from_env(env)
    assert config is not None and config.real.x_token is not None
    assert config.real.x_token.value == TOKEN
    assert TOKEN not in repr(config) and TOKEN not in str(config)
    assert TOKEN not in repr(RealApis.from_env(REAL))
