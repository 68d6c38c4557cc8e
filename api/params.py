r"""Path and query parameter types shared by the controllers (Litestar's explicit parameter kinds).

Every pattern ends in ``(?!\\n)$`` because ``$`` alone admits a trailing newline.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from ledger.catalogue.types import REF_PATTERN
from ledger.event import STREAM_PATTERN

REF = REF_PATTERN
ENTITY = r"^[A-Z][A-Za-z]{1,39}(?!\n)$"
STREAM = STREAM_PATTERN
EVENT_TYPE_PREFIX = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(?!\n)$"
MAX_SIZE = 2**53

RefPath = Annotated[str, PathParameter(pattern=REF)]
SizePath = Annotated[int, PathParameter(ge=0, le=MAX_SIZE)]
SizeQuery = Annotated[int, QueryParameter(ge=0, le=MAX_SIZE)]
Flag = Annotated[bool, QueryParameter()]
OptionalSizeQuery = Annotated[int | None, QueryParameter(ge=0, le=MAX_SIZE)]
