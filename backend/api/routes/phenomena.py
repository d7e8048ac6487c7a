from fastapi import APIRouter, HTTPException

from backend import catalogue
from backend.schemas import (
    ClaimPublic,
    PaperPublic,
    PhenomenaPublic,
    PhenomenonPublic,
    PhenomenonSummary,
    PresetPublic,
)
from workers.phenomena.contract import Phenomenon

router = APIRouter(prefix="/phenomena", tags=["phenomena"])


def _papers(ph: Phenomenon) -> list[PaperPublic]:
    return [PaperPublic(**paper.model_dump(), url=paper.url) for paper in ph.papers]


def _summary(ph: Phenomenon) -> PhenomenonSummary:
    return PhenomenonSummary(name=ph.name, title=ph.title, one_liner=ph.one_liner, papers=_papers(ph),
                             presets=list(ph.presets))


@router.get("")
def list_phenomena() -> PhenomenaPublic:
    """Every phenomenon in the catalogue, with its papers and preset names."""
    data = [_summary(catalogue.get(name)) for name in catalogue.names()]
    return PhenomenaPublic(data=data, count=len(data))


@router.get("/{name}", responses={404: {"description": "No such phenomenon"}})
def get_phenomenon(name: str) -> PhenomenonPublic:
    """One phenomenon: explanation, papers, knobs (JSON Schema), presets, axes, metrics, charts, claims."""
    try:
        ph = catalogue.get(name)
    except catalogue.UnknownPhenomenon:
        raise HTTPException(404, f"No phenomenon named {name!r}; see GET /api/phenomena.") from None
    return PhenomenonPublic(
        **_summary(ph).model_dump(exclude={"presets"}),
        summary=ph.summary,
        code_version=catalogue.code_version(name),
        config_schema=ph.config.model_json_schema(),
        presets={key: preset.config.model_dump(mode="json") for key, preset in ph.presets.items()},
        preset_info={key: PresetPublic(title=p.title, demonstrates=p.demonstrates, expect=dict(p.expect))
                     for key, p in ph.presets.items()},
        axes=list(ph.axes),
        families=list(ph.families),
        metrics=list(ph.metrics),
        progress_axis=ph.progress_axis,
        charts=list(ph.charts),
        snapshots=list(ph.snapshots),
        claims=[ClaimPublic(id=claim.id, text=claim.text, unit=claim.unit) for claim in ph.claims],
    )
