"""The service's settings, in one place: options of ``mallseg serve`` or ``MALLSEG_SERVICE_*``.

Every field can be set from the environment (``MALLSEG_SERVICE_RATE_PER_SECOND=50``);
``mallseg serve`` options win over the environment.

Examples
--------
>>> settings = ServiceSettings(port=9000, rate_per_second=5, rate_burst=10)
>>> settings.url, settings.rate_burst
('http://127.0.0.1:9000', 10)
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """How the HTTP service runs (the module's example sets some).

    Attributes
    ----------
    host, port:
        Where it listens (loopback by default: put a TLS-terminating proxy in front to
        serve other machines).
    workers:
        Processes; one, since one process owns the workspace (see :mod:`mallseg.service`).
    rate_per_second, rate_burst:
        Token bucket per API key: requests refill at ``rate_per_second``, up to
        ``rate_burst`` at once; a key over it gets 429 with ``Retry-After``.
    audit_flush_seconds:
        Customer-level reads are written to the audit log in batches at least this often
        (writes are logged at once, with the write).
    access_log:
        Log every request (uvicorn's access log).
    """

    model_config = SettingsConfigDict(env_prefix="MALLSEG_SERVICE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8321, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    rate_per_second: float = Field(default=100.0, gt=0)
    rate_burst: int = Field(default=200, ge=1)
    audit_flush_seconds: float = Field(default=1.0, gt=0)
    access_log: bool = False

    @property
    def url(self) -> str:
        """The base URL clients reach the service at.

        >>> ServiceSettings(host="0.0.0.0", port=80).url
        'http://0.0.0.0:80'
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
