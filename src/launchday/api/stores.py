"""The brand's stores over HTTP: kept by the admin, listed for buyers by region, kind
and distance (docs/stores.md)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal
from urllib.parse import parse_qs

import msgspec
from msgspec import Meta

from launchday.api.context import ApiContext
from launchday.domain.retail_store import (
    Hours,
    HoursException,
    RetailStore,
    StoreKind,
    check_store_id,
)
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import QueryParam, Request, Response, Route, json_response

_encode = msgspec.json.Encoder().encode
LocalTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["10:00"])]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Kind = Literal["sales", "delivery", "service"]
MAX_LISTED = 500
Sku = Annotated[str, Meta(min_length=1, max_length=64)]
Cars = Annotated[int, Meta(ge=0, le=1000)]
_KINDS = [kind.value for kind in StoreKind]
_COORDINATES = r"^-?[0-9]{1,3}(\.[0-9]+)?,-?[0-9]{1,3}(\.[0-9]+)?$"


class HoursSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Open from `opens` to `closes` (the store's local times) on `days`."""

    days: Annotated[list[Day], Meta(min_length=1, max_length=7)]
    opens: LocalTime
    closes: LocalTime


class ExceptionSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A date with other hours: closed (neither time given), or `opens` to `closes`."""

    date: date
    opens: LocalTime | None = None
    closes: LocalTime | None = None


class StoreSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A store: what it is (`kinds`: a sales store holds demo cars for test drives, a
    delivery centre hands cars over, a place may be both), where (region as ISO 3166-2,
    coordinates, IANA time zone), its opening hours with exceptions, its demo cars per
    variant, and the length of its slots."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    kinds: Annotated[list[Kind], Meta(min_length=1, max_length=3)]
    city: Annotated[str, Meta(min_length=1, max_length=100)]
    region: Annotated[str, Meta(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$", examples=["CN-BJ"])]
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    timezone: Annotated[str, Meta(min_length=1, max_length=64, examples=["Asia/Shanghai"])]
    hours: Annotated[list[HoursSpec], Meta(max_length=50)]
    exceptions: Annotated[list[ExceptionSpec], Meta(max_length=400)] = []
    demo_cars: dict[Sku, Cars] = {}
    test_drive_minutes: Annotated[int, Meta(ge=15, le=240)] = 60
    handover_bays: Annotated[int, Meta(ge=0, le=1000)] = 0
    handover_minutes: Annotated[int, Meta(ge=15, le=240)] = 90
    logistics_weeks: Annotated[int, Meta(ge=0, le=52)] = 0


class StoreOut(msgspec.Struct, frozen=True):
    id: str
    store: StoreSpec
    distance_km: float | None = None


class StoresOut(msgspec.Struct, frozen=True):
    stores: list[StoreOut]


def _time(text: str) -> time:
    return time.fromisoformat(text)


def store_of(store_id: str, spec: StoreSpec) -> RetailStore:
    return RetailStore(
        id=store_id,
        name=spec.name,
        kinds=frozenset(StoreKind(k) for k in spec.kinds),
        city=spec.city,
        region=spec.region,
        lat=spec.lat,
        lon=spec.lon,
        timezone=spec.timezone,
        hours=tuple(Hours(tuple(h.days), _time(h.opens), _time(h.closes)) for h in spec.hours),
        exceptions=tuple(
            HoursException(
                e.date,
                None if e.opens is None else _time(e.opens),
                None if e.closes is None else _time(e.closes),
            )
            for e in spec.exceptions
        ),
        demo_cars=tuple(sorted(spec.demo_cars.items())),
        test_drive_minutes=spec.test_drive_minutes,
        handover_bays=spec.handover_bays,
        handover_minutes=spec.handover_minutes,
        logistics_weeks=spec.logistics_weeks,
    )


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")


def store_out(store: RetailStore, distance: float | None = None) -> StoreOut:
    spec = StoreSpec(
        name=store.name,
        kinds=sorted(k.value for k in store.kinds),
        city=store.city,
        region=store.region,
        lat=store.lat,
        lon=store.lon,
        timezone=store.timezone,
        hours=[HoursSpec(list(h.days), _clock(h.opens), _clock(h.closes)) for h in store.hours],  # type: ignore[arg-type]
        exceptions=[
            ExceptionSpec(
                e.day,
                None if e.opens is None else _clock(e.opens),
                None if e.closes is None else _clock(e.closes),
            )
            for e in store.exceptions
        ],
        demo_cars=dict(store.demo_cars),
        test_drive_minutes=store.test_drive_minutes,
        handover_bays=store.handover_bays,
        handover_minutes=store.handover_minutes,
        logistics_weeks=store.logistics_weeks,
    )
    return StoreOut(store.id, spec, None if distance is None else round(distance, 3))


def _near(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise HttpError("validation", "near is latitude,longitude", "near") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise HttpError("validation", "near is latitude -90..90, longitude -180..180", "near")
    return lat, lon


def routes(ctx: ApiContext) -> list[Route]:
    stores = ctx.services.stores

    async def put_store(request: Request) -> Response:
        store_id = request.params["store"]
        check_store_id(store_id)
        spec = decode(request.body, StoreSpec)
        kept = await stores.put(store_of(store_id, spec))
        return json_response(200, _encode(store_out(kept)))

    async def get_store(request: Request) -> Response:
        return json_response(200, _encode(store_out(stores.get(request.params["store"]))))

    async def list_stores(request: Request) -> Response:
        query = parse_qs(request.query, keep_blank_values=True)
        region = query.get("region", [None])[-1]
        kind = query.get("kind", [None])[-1]
        near = query.get("near", [None])[-1]
        limit = query.get("limit", ["50"])[-1]
        if kind is not None and kind not in _KINDS:
            raise HttpError("validation", "kind is sales, delivery or service", "kind")
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LISTED:
            raise HttpError("validation", f"limit is 1 to {MAX_LISTED}", "limit")
        found = stores.listed(
            region or None,
            None if kind is None else StoreKind(kind),
            None if near is None else _near(near),
            int(limit),
        )
        return json_response(200, _encode(StoresOut([store_out(s, km) for s, km in found])))

    return [
        Route(
            method="PUT",
            path="/api/v1/stores/{store}",
            handler=put_store,
            name="put_store",
            auth=("admin",),
            summary="Keep a store (new, or in place of the one with this id)",
            body=StoreSpec,
            response=StoreOut,
            errors=("invalid_body", "validation", "not_found", "unauthenticated", "forbidden"),
        ),
        Route(
            method="GET",
            path="/api/v1/stores/{store}",
            handler=get_store,
            name="get_store",
            auth="anyone",
            summary="One store",
            response=StoreOut,
            errors=("not_found",),
        ),
        Route(
            method="GET",
            path="/api/v1/stores",
            handler=list_stores,
            name="list_stores",
            auth="anyone",
            summary="The stores, of a region and kind, nearest first when near= is given",
            response=StoresOut,
            errors=("validation",),
            query=(
                QueryParam("region", False, "ISO 3166-2 region, e.g. CN-BJ", {"type": "string"}),
                QueryParam(
                    "kind",
                    False,
                    "sales, delivery or service",
                    {"enum": [k.value for k in StoreKind]},
                ),
                QueryParam("near", False, "latitude,longitude: nearest first", {"type": "string"}),
                QueryParam(
                    "limit",
                    False,
                    f"at most this many (1 to {MAX_LISTED}, 50 if absent)",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LISTED},
                ),
            ),
        ),
    ]
