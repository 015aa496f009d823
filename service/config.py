"""The service's settings: one `Settings` from environment variables (prefix `DESK_INSPECTOR_`),
an optional YAML/JSON settings file, and defaults, in that order of precedence.

The settings file is named by `DESK_INSPECTOR_SETTINGS_FILE` (or `Settings(settings_file=...)`);
relative paths inside it are taken relative to the file, so a site folder can be moved whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

import calibration
import rules
from inspector.frames import MAX_PIXELS

ENV_PREFIX = "DESK_INSPECTOR_"
SETTINGS_FILE_ENV = f"{ENV_PREFIX}SETTINGS_FILE"
# Fields holding paths: resolved against the settings file's folder when written there.
_PATH_FIELDS = ("data_dir", "cameras_dir", "standards_dir")
MiB = 1024 * 1024
MIN_KEY_LENGTH = 8


class Settings(BaseSettings):
    """Everything the service reads at start-up. Paths may be relative to the working directory."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    settings_file: Path | None = Field(None, description="YAML/JSON file with any of these settings")
    data_dir: Path = Field(Path("out/service"), description="where the history database and inspection pictures live")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: the history the batch writes too "
                                                        "(out/history.db under the current folder)")
    cameras_dir: Path = Field(Path(calibration.__file__).resolve().parent / "cameras",
                              description="camera files (*.yaml, *.yml, *.json), one per camera; calibration saves here")
    standards_dir: Path = Field(Path(rules.__file__).resolve().parent / "standards",
                                description="standard files (*.yaml, *.yml, *.json)")
    default_standard: str = Field("front-counter", description="standard id (or file) used by cameras not in camera_standards")
    camera_standards: dict[str, str] = Field(default_factory=dict, description="camera id -> standard id or file")
    model: str | None = Field(
        "auto",
        description="detector: a registry name, card or weights path; 'auto' = the current model (`desk-inspector "
        "models promote`; the bundled default until one is promoted), followed without a restart; "
        "'none' = no detector (clients send detections)",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="accepted X-API-Key values (comma-separated in env)"
    )
    admin_api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="keys allowed to save calibrations; empty = any API key may"
    )
    upload_limit_bytes: int = Field(20 * MiB, gt=0, description="largest image upload")
    detections_limit_bytes: int = Field(1 * MiB, gt=0, description="largest detections JSON upload")
    max_pixels: int = Field(MAX_PIXELS, gt=0, description="largest image in pixels (decompression-bomb guard)")
    inference_workers: int = Field(2, ge=1, le=64, description="inspections run at once in worker threads")
    detector_threads: int | None = Field(None, ge=1, le=64, description=(
        "the detector engine's threads per server process; default: the cores shared out over the server's "
        "processes (every core with one process)"))
    review_per_day: int = Field(20, ge=1, le=1000, description="the review queue's cap: inspections a day asked for a look")

    @field_validator("api_keys", "admin_api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("model", mode="before")
    @classmethod
    def _none_model(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "none", "null", "off"):
            return None
        return value

    @field_validator("api_keys", "admin_api_keys", mode="after")
    @classmethod
    def _keys_are_sane(cls, keys: list[str]) -> list[str]:
        for number, key in enumerate(keys, 1):
            if len(key) < MIN_KEY_LENGTH:
                # the key itself is never repeated: this message goes to logs
                raise ValueError(f"key {number} of {len(keys)} is {len(key)} characters long; API keys must be at least "
                                 f"{MIN_KEY_LENGTH} characters long (better: make keys with `desk-inspector keys create`)")
        return keys

    @property
    def db_url(self) -> str:
        from inspector.history import default_database_url

        return self.database_url or default_database_url()

    @property
    def accepted_keys(self) -> list[str]:
        return [*self.api_keys, *self.admin_api_keys]

    @property
    def request_limit_bytes(self) -> int:
        """Whole multipart body: image + detections + form overhead."""
        return self.upload_limit_bytes + self.detections_limit_bytes + 64 * 1024

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _SettingsFileSource(settings_cls, init_settings)


class _SettingsFileSource(PydanticBaseSettingsSource):
    """The settings file named by the init argument or the environment; lowest precedence but defaults."""

    def __init__(self, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._init = init_settings

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        named = getattr(self._init, "init_kwargs", {}).get("settings_file") or os.environ.get(SETTINGS_FILE_ENV)
        if not named:
            return {}
        path = Path(named)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: cannot read the settings file ({error})") from None
        except RecursionError:
            raise ValueError(f"{path}: cannot read the settings file (nested too deeply)") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the settings file must hold a mapping of settings")
        for name in _PATH_FIELDS:
            if isinstance(data.get(name), str) and not Path(data[name]).is_absolute():
                data[name] = str((path.parent / data[name]).resolve())
        mapping = data.get("camera_standards")
        for name, value in list(mapping.items()) if isinstance(mapping, dict) else []:
            if isinstance(value, str) and value.endswith((".yaml", ".yml", ".json")) and not Path(value).is_absolute():
                mapping[name] = str((path.parent / value).resolve())
        if isinstance(data.get("default_standard"), str) and data["default_standard"].endswith((".yaml", ".yml", ".json")):
            if not Path(data["default_standard"]).is_absolute():
                data["default_standard"] = str((path.parent / data["default_standard"]).resolve())
        model = data.get("model")
        if isinstance(model, str) and not Path(model).is_absolute() and (path.parent / model).exists():
            data["model"] = str((path.parent / model).resolve())
        data.setdefault("settings_file", str(path))
        return data


def settings_problem(error: ValidationError) -> str:
    """A settings error in one line per setting, naming the setting and where it can be set, without
    pydantic's dump of the values (API keys among them)."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in problem.get("loc", ())) or "settings"
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        top = field.split(".", 1)[0]
        where = f" ({ENV_PREFIX}{top.upper()} or the settings file)" if top in Settings.model_fields else ""
        lines.append(f"{field}{where}: {message}")
    return "invalid settings: " + "; ".join(lines)
