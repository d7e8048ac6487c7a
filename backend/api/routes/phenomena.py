from types import ModuleType

from fastapi import APIRouter, HTTPException

from backend import catalogue
from backend.schemas import (
    ChartPublic,
    ClaimPublic,
    PaperPublic,
    PhenomenaPublic,
    PhenomenonPublic,
    PhenomenonSummary,
    SnapshotView,
)

router = APIRouter(prefix="/phenomena", tags=["phenomena"])


def _papers(spec: ModuleType) -> list[PaperPublic]:
    return [PaperPublic(**paper.model_dump(), url=paper.url) for paper in spec.PAPERS]


def _summary(spec: ModuleType) -> PhenomenonSummary:
    return PhenomenonSummary(
        name=spec.NAME, title=spec.TITLE, one_liner=spec.ONE_LINER, papers=_papers(spec), presets=list(spec.PRESETS)
    )


@router.get("")
def list_phenomena() -> PhenomenaPublic:
    """Every phenomenon in the catalogue, with its papers and preset names."""
    data = [_summary(catalogue.get_spec(name)) for name in catalogue.names()]
    return PhenomenaPublic(data=data, count=len(data))


@router.get("/{name}", responses={404: {"description": "No such phenomenon"}})
def get_phenomenon(name: str) -> PhenomenonPublic:
    """One phenomenon: explanation, papers, knobs (JSON Schema), presets, charts, claims."""
    try:
        spec = catalogue.get_spec(name)
    except catalogue.UnknownPhenomenon:
        raise HTTPException(404, f"No phenomenon named {name!r}; see GET /api/phenomena.") from None
    return PhenomenonPublic(
        **_summary(spec).model_dump(exclude={"presets"}),
        summary=spec.SUMMARY,
        version=spec.VERSION,
        config_schema=spec.Config.model_json_schema(),
        presets={key: preset.model_dump(mode="json") for key, preset in spec.PRESETS.items()},
        charts=[ChartPublic(**chart.model_dump()) for chart in spec.CHARTS],
        snapshots=[SnapshotView.model_validate(view) for view in getattr(spec, "SNAPSHOTS", [])],
        claims=[ClaimPublic(id=claim.id, text=claim.text) for claim in spec.CLAIMS],
    )
