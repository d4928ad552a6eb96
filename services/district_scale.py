"""The district at its real scale (`yilin demo --scale district`): Pidu's streets, towns,
communities, villages and grids; 459 teams of which 66 professional; 173,000 volunteers
of whom 2,021 certified social workers; 3,000 community partners and social enterprises;
4,046 party-member cadres on grids; the university volunteer alliance of 12 universities
with its 19,000 activities and 620,000 hours (services.district_alliance). Names are
generated; the counts are the district's.

Everything goes through bulk RPCs: the registry's (`import_structure`,
`import_volunteers`), a thousand rows a call, and the activities service's
(`import_history`), never one call per row. Every row has a fixed code, ID number or id,
so a second run stores nothing new."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any, Callable, Iterator

from nameko.standalone.rpc import ClusterRpcProxy
from tqdm import tqdm

from services import district_alliance as alliance
from services.indicators import SOURCES
from services.registry.id_numbers import id_check_digit
from services.registry.importing import send_batches
from yilin.identity import identity_context, service_account

BATCH = 1000
SKILLS = (
    "errands",
    "plumbing",
    "locksmith",
    "mediation",
    "elder_care",
    "child_protection",
    "labour_rights",
    "community_affairs",
    "first_aid",
    "small_repair",
)
DOMAINS = ("emergency_rescue", "womens_rights", "mediation", "child_protection", "elder_care", "labour_rights")
PARTNER_KINDS = ("community_partner", "social_enterprise", "property_manager")


@dataclass(frozen=True)
class Scale:
    """How much of each: the district's figures, or a fraction of them for a test."""

    streets: int = 9
    towns: int = 3
    communities_per_street: int = 20  # communities under a street, villages under a town
    grids_per_community: int = 8
    teams: int = 459
    professional_teams: int = 66
    volunteers: int = 173_000
    social_workers: int = 2_021
    partners: int = 3_000
    cadres: int = 4_046
    # the university volunteer alliance (services.district_alliance)
    alliance_universities: int = 12
    alliance_activities: int = 19_000
    alliance_hours: int = 620_000
    alliance_students: int = 5_000  # the volunteers who attend its activities

    def divided(self, by: int) -> "Scale":
        """Every figure divided by ``by`` (at least one of each; the alliance keeps its universities)."""
        if by <= 1:
            return self
        return replace(
            self,
            **{
                f.name: max(1, round(getattr(self, f.name) / by))
                for f in fields(self)
                if f.name
                not in ("streets", "towns", "communities_per_street", "grids_per_community", "alliance_universities")
            },
            communities_per_street=max(1, self.communities_per_street // by),
            grids_per_community=max(1, self.grids_per_community // by),
        )

    def targets(self) -> dict[str, int]:
        """The registry counts the load must end with."""
        return {
            "teams": self.teams,
            "professional_teams": min(self.professional_teams, self.teams),
            "volunteers": self.volunteers,
            "certified_social_workers": min(self.social_workers, self.volunteers),
            "partners": self.partners,
            "cadres": self.cadres,
            "cadres_on_grids": self.cadres,
        }

    def alliance_targets(self) -> dict[str, int]:
        """The figures the organisation report over the alliance must show."""
        return {"alliance_activities": self.alliance_activities, "alliance_hours": self.alliance_hours}


DISTRICT = Scale()


def place_rows(scale: Scale) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Places in parent-first order, with the community and grid codes."""
    rows = [{"code": "PD", "name": "郫都区", "level": "district"}]
    communities, grids = [], []
    for n in range(scale.streets + scale.towns):
        town = n >= scale.streets
        code = f"PDX-{'T' if town else 'S'}{n:02d}"
        rows.append(
            {
                "code": code,
                "name": f"{'第' + str(n + 1)}{'镇' if town else '街道'}",
                "level": "town" if town else "street",
                "parent_code": "PD",
            }
        )
        for c in range(scale.communities_per_street):
            community = f"{code}-C{c:02d}"
            rows.append(
                {
                    "code": community,
                    "name": f"{n + 1}-{c + 1}{'村' if town else '社区'}",
                    "level": "village" if town else "community",
                    "parent_code": code,
                }
            )
            communities.append(community)
            for g in range(scale.grids_per_community):
                grids.append(f"{community}-G{g}")
                rows.append(
                    {
                        "code": grids[-1],
                        "name": f"{n + 1}-{c + 1}第{g + 1}网格",
                        "level": "grid",
                        "parent_code": community,
                    }
                )
    return rows, communities, grids


def organisation_rows(scale: Scale, communities: list[str], rng: random.Random) -> list[dict[str, Any]]:
    """Street offices (the cadres' organisations), volunteer organisations, partners."""
    rows = [
        {"code": f"PDX-GOV-{n:02d}", "name": f"第{n + 1}街镇办事处", "kind": "government_sector"}
        for n in range(scale.streets + scale.towns)
    ]
    rows += [
        {"code": f"PDX-VO-{n:02d}", "name": f"志愿服务组织{n + 1:02d}", "kind": "volunteer_organisation"}
        for n in range(max(1, scale.teams // 10))
    ]
    for n in range(scale.partners):
        home = rng.choice(communities)
        rows.append(
            {
                "code": f"PDX-P{n:04d}",
                "name": f"社区合作伙伴{n + 1:04d}",
                "kind": PARTNER_KINDS[n % 3],
                "community_code": home,
                "services": rng.sample(SKILLS, 2),
                "covers": sorted(set(rng.sample(communities, min(2, len(communities)))) - {home}),
                "district_wide": n % 50 == 0,
            }
        )
    return rows


def team_rows(scale: Scale, communities: list[str], rng: random.Random) -> list[dict[str, Any]]:
    """The professional teams first (district-wide), then community teams."""
    organisations = max(1, scale.teams // 10)
    rows = []
    for n in range(scale.teams):
        professional = n < scale.professional_teams
        domain = DOMAINS[n % len(DOMAINS)] if professional else None
        rows.append(
            {
                "code": f"PDX-T{n:03d}",
                "name": f"{'专业' if professional else ''}志愿服务队{n + 1:03d}",
                "organisation_code": f"PDX-VO-{n % organisations:02d}",
                "community_code": rng.choice(communities),
                "professional": professional,
                "domain": domain,
                "skills": sorted({domain} if professional else set(rng.sample(SKILLS, 3))),
                "district_wide": professional,
            }
        )
    return rows


def cadre_rows(scale: Scale, grids: list[str], rng: random.Random) -> list[dict[str, Any]]:
    offices = scale.streets + scale.towns
    return [
        {
            "code": f"PDX-CD{n:04d}",
            "name": f"干部{n + 1:04d}",
            "organisation_code": f"PDX-GOV-{n % offices:02d}",
            "grid_codes": sorted(set(rng.sample(grids, min(1 + n % 2, len(grids))))),
        }
        for n in range(scale.cadres)
    ]


def id_number(serial: int) -> str:
    """A valid, unique resident ID number per serial (900 per birthday)."""
    born = date(1950, 1, 1) + timedelta(days=serial // 900)
    first17 = f"510124{born:%Y%m%d}{100 + serial % 900:03d}"
    return first17 + id_check_digit(first17)


def volunteer_rows(scale: Scale, community_ids: list[str], rng: random.Random) -> Iterator[dict[str, Any]]:
    for serial in range(scale.volunteers):
        certified = serial < scale.social_workers
        yield {
            "name": f"志愿者{serial:06d}",
            "id_number": id_number(serial),
            "community_id": rng.choice(community_ids),
            "skills": ["mediation", "child_protection"] if certified else rng.sample(SKILLS, 2),
            "certifications": [{"kind": "certified_social_worker"}] if certified else [],
            "party_member": serial % 9 == 0,
        }


def _chunks(rows: list[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# A service that is not running leaves its request queued with nobody to answer; the
# report waits this long for each, not the load's ten minutes.
INDICATOR_TIMEOUT = 15


def _indicators(config: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The district indicators as each running service answers them (a service that is
    not running is left out): what ``GET /api/v1/indicators`` shows after the load."""
    figures: dict[str, Any] = {}
    with ClusterRpcProxy(config, timeout=INDICATOR_TIMEOUT, context_data=context) as cluster:
        for source in SOURCES:
            try:
                figures.update(getattr(cluster, source).indicator_counts({}))
            except Exception:  # noqa: BLE001 - the load only needs the registry; the rest is a report
                continue
    return figures


def load_district(
    config: dict[str, Any], scale: Scale = DISTRICT, progress: bool = True, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Load ``scale`` into the registry and the alliance's record into the activities
    service; return what each step stored and the counts."""
    rng = random.Random(19)  # the same district every run: re-running stores nothing new
    places, communities, grids = place_rows(scale)
    summary: dict[str, Any] = {}
    context = identity_context(config, service_account("cli-demo"), "cli")
    with ClusterRpcProxy(config, timeout=INDICATOR_TIMEOUT, context_data=context) as cluster:
        for name in ("registry", "activities"):  # fail now, not after the registry's minutes
            try:
                getattr(cluster, name).ping()
            except Exception as exc:  # any failure (no answer, an error) means the load cannot finish
                raise RuntimeError(f"the {name} service must be running for the district load: {exc!r}") from exc
    with ClusterRpcProxy(config, timeout=600, context_data=context) as cluster:
        registry = cluster.registry
        ids: dict[str, str] = {}

        def structure(kind: str, rows: list[dict[str, Any]], step: str | None = None) -> None:
            created = duplicates = 0
            with tqdm(total=len(rows), desc=step or kind, unit="row", disable=not progress) as bar:
                for chunk in _chunks(rows):
                    result = registry.import_structure(kind, chunk)
                    if result["rejected"]:
                        raise RuntimeError(f"{kind}: rows rejected: {result['rejected'][:3]}")
                    created, duplicates = created + result["created"], duplicates + result["duplicates"]
                    ids.update(result["ids"])
                    bar.update(len(chunk))
            summary[step or kind] = {"created": created, "duplicates": duplicates}

        structure("places", places)
        structure("organisations", organisation_rows(scale, communities, rng))
        structure("teams", team_rows(scale, communities, rng))
        structure("cadres", cadre_rows(scale, grids, rng))
        universities = alliance.university_rows(scale.alliance_universities, communities)
        structure("organisations", universities, "universities")
        community_ids = [ids[c] for c in communities]
        created = duplicates = 0
        rows = volunteer_rows(scale, community_ids, rng)
        batches = (list(b) for b in iter(lambda: [r for _, r in zip(range(BATCH), rows)], []))
        with tqdm(total=scale.volunteers, desc="volunteers", unit="row", disable=not progress) as bar:
            for chunk, result in send_batches(registry, batches):
                if result["rejected"]:
                    raise RuntimeError(f"volunteers: rows rejected: {result['rejected'][:3]}")
                created, duplicates = created + result["created"], duplicates + result["duplicates"]
                bar.update(len(chunk))
        summary["volunteers"] = {"created": created, "duplicates": duplicates}
        counts = registry.counts()
        # The alliance's record, through the activities service, once its students are registered.
        started = time.monotonic()
        university_ids = [ids[u["code"]] for u in universities]
        rows = alliance.activity_rows(
            scale.alliance_activities,
            scale.alliance_hours,
            university_ids,
            community_ids,
            alliance.students(registry, scale.alliance_students),
        )
        summary["alliance_activities"] = alliance.load_history(
            cluster.activities, rows, scale.alliance_activities, progress
        )
        report = alliance.alliance_report(cluster.activities, university_ids)
        summary["alliance"] = {
            "organisation_ids": university_ids,
            **report,
            "seconds": round(time.monotonic() - started, 1),  # students, activities and the report
        }
        summary["indicators"] = _indicators(config, context)
    targets = scale.targets()
    summary["counts"] = counts
    summary["targets"] = targets
    summary["matches"] = {
        **{key: counts[key] == value for key, value in targets.items()},
        "alliance_activities": report["activities"] == scale.alliance_activities,
        "alliance_hours": report["hours"] == scale.alliance_hours,
    }
    if not all(summary["matches"].values()):
        held = {**counts, "alliance_activities": report["activities"], "alliance_hours": report["hours"]}
        echo(
            "counts differ from the district's: "
            + ", ".join(
                f"{k} {held[k]} ≠ {v}" for k, v in {**targets, **scale.alliance_targets()}.items() if held[k] != v
            )
        )
    return summary
