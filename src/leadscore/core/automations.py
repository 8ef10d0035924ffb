"""The automations file (SPEC §6): what to do when a lead's score, tier or stage moves.

One YAML file, beside the model and versioned like it, lists automations: a trigger, optional
conditions in the model's condition language (§2.1), and actions. Loading never half-applies:
the result is a whole valid `AutomationsFile` or an `AutomationsError` listing every problem
with its key path and line, as the model file does.

`firings` is the one definition of when an automation fires, used by live rescoring, the bulk
recompute (after a vectorised pre-filter that selects exactly the same crossings) and the
simulation. Each firing carries an *occurrence*: with the lead, the automation and the
action it is the outbox's unique key, so that a crossing fires once, a replayed event fires
nothing, and a lead that falls back and crosses again fires again (its new crossing happens
at another time). docs/automations.md is the user's description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from leadscore.core.conditions import Condition, EvalContext, Leaf, walk
from leadscore.core.languages import language_tag
from leadscore.core.loader import FileError, Problem, located, pydantic_problems, read_yaml
from leadscore.core.model import EventTypes, LeadCondition, Strict
from leadscore.core.records import Lead
from leadscore.core.timestamps import format_timestamp

NAME = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
"""An automation's name: its identity in the outbox, kept across file versions."""
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ENV = r"^[A-Z_][A-Z0-9_]{0,199}$"
SCORE_FIELDS = ("score", "fit", "engagement")
SNAPSHOT_FIELDS = ("score", "fit", "engagement", "grade", "tier", "stage")
CONDITION_FIELDS = (*SNAPSHOT_FIELDS, "owner")
"""Fields a condition reads from the lead's new score (and owner) rather than its
attributes: an attribute with one of these names is shadowed (documented)."""
EXTERNAL = ("notify", "webhook", "crm_update")
"""Actions delivered to the outside world: at least once, retried with backoff."""
INTERNAL = ("assign_owner", "add_to_list", "remove_from_list", "enroll", "set_stage")
"""Actions done in the store, in the transaction that marks them done: exactly once."""
ACTIONS = (*EXTERNAL, *INTERNAL)


def _names(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str) and raw:
        return (raw,)
    if isinstance(raw, list) and raw and all(isinstance(t, str) and t for t in raw):
        return tuple(raw)
    raise ValueError("must be a name or a non-empty list of names")


Names = Annotated[
    tuple[str, ...],
    BeforeValidator(_names),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


# --- triggers -------------------------------------------------------------------------------


class LeadCreated(Strict):
    pass


class Moved(Strict):
    """From and/or to a value (stage or tier); either alone, or neither: any change."""

    from_: Names | None = Field(default=None, alias="from")
    to: Names | None = None

    def matches(self, before: str | None, after: str | None) -> bool:
        if before == after:
            return False
        if self.from_ is not None and before not in self.from_:
            return False
        return self.to is None or after in self.to


class ScoreCrossed(Strict):
    threshold: float
    direction: Literal["up", "down"] = "up"
    on: Literal["score", "fit", "engagement"] = "score"

    def crossed(self, before: float | None, after: float | None) -> bool:
        """Up: from below the threshold (or never scored) to at or above it. Down: from at
        or above it to below it."""
        if after is None:
            return False
        if self.direction == "up":
            return after >= self.threshold and (before is None or before < self.threshold)
        return after < self.threshold and before is not None and before >= self.threshold


class EventReceived(Strict):
    type: EventTypes


HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Schedule(Strict):
    daily_at: Annotated[str, Field(pattern=HHMM.pattern)]
    """UTC time of day, HH:MM."""
    window: Literal["since_last_run"] = "since_last_run"

    @property
    def minutes(self) -> int:
        hours, minutes = self.daily_at.split(":")
        return int(hours) * 60 + int(minutes)


class When(Strict):
    lead_created: LeadCreated | None = None
    stage_changed: Moved | None = None
    score_crossed: ScoreCrossed | None = None
    tier_changed: Moved | None = None
    event_received: EventReceived | None = None
    schedule: Schedule | None = None

    @model_validator(mode="after")
    def _one(self) -> When:
        given = [name for name in TRIGGERS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one trigger of {', '.join(TRIGGERS)}")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in TRIGGERS if getattr(self, name) is not None)


TRIGGERS = (
    "lead_created",
    "stage_changed",
    "score_crossed",
    "tier_changed",
    "event_received",
    "schedule",
)


# --- actions --------------------------------------------------------------------------------

Email = Annotated[str, Field(pattern=EMAIL, max_length=320)]
EnvName = Annotated[str, Field(pattern=ENV)]
Label = Annotated[str, Field(min_length=1, max_length=200)]
Language = Annotated[str, BeforeValidator(lambda v: language_tag(v) if isinstance(v, str) else v)]
"""A language we ship (`en`, `pl`, `ro`, `sr-Latn`; `sr`, `pl-PL`… accepted and normalised)."""


class EmailTo(Strict):
    to: list[Email] = Field(default_factory=list)
    to_owner: bool = False
    """Send to the lead's owner (their address in the owners table); `to` as well, or
    instead when the lead has no owner with an address."""

    @model_validator(mode="after")
    def _someone(self) -> EmailTo:
        if not self.to and not self.to_owner:
            raise ValueError("give `to` addresses, `to_owner: true`, or both")
        return self


class Slack(Strict):
    url_env: EnvName
    """The environment variable holding the incoming-webhook URL (a secret: never in YAML)."""


class Notify(Strict):
    email: EmailTo | None = None
    slack: Slack | None = None
    template: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")] = "notify"
    language: Language | None = None
    """The message's language; unset: LEADSCORE_LANGUAGE."""

    @model_validator(mode="after")
    def _channel(self) -> Notify:
        if self.email is None and self.slack is None:
            raise ValueError("give a channel: `email`, `slack` or both")
        return self


class Webhook(Strict):
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)] | None = None
    url_env: EnvName | None = None
    secret_env: EnvName
    """The environment variable holding the endpoint's signing secret (`whsec_…`)."""

    @model_validator(mode="after")
    def _where(self) -> Webhook:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of `url` and `url_env`")
        return self


class Territory(Strict):
    when: LeadCondition
    team: Label | None = None
    owner: Label | None = None

    @model_validator(mode="after")
    def _target(self) -> Territory:
        if (self.team is None) == (self.owner is None):
            raise ValueError("give exactly one of `team` and `owner`")
        return self


class AssignOwner(Strict):
    team: Label | None = None
    owner: Label | None = None
    strategy: Literal["round_robin", "least_loaded"] = "round_robin"
    territories: list[Territory] = Field(default_factory=list)
    reassign: bool = False

    @model_validator(mode="after")
    def _target(self) -> AssignOwner:
        if self.team is not None and self.owner is not None:
            raise ValueError("give `team` or `owner`, not both")
        if self.team is None and self.owner is None and not self.territories:
            raise ValueError("give a `team`, an `owner` or `territories`")
        return self


class ListRef(Strict):
    list: Label


class SequenceRef(Strict):
    sequence: Label


class SetStage(Strict):
    stage: Label


class CrmUpdate(Strict):
    connector: Literal["hubspot", "salesforce", "pipedrive"]
    fields: list[Label] = Field(default_factory=lambda: ["score", "grade", "stage", "owner"])


class Action(Strict):
    """One action: a mapping with exactly one key, the action's kind."""

    notify: Notify | None = None
    webhook: Webhook | None = None
    crm_update: CrmUpdate | None = None
    assign_owner: AssignOwner | None = None
    add_to_list: ListRef | None = None
    remove_from_list: ListRef | None = None
    enroll: SequenceRef | None = None
    set_stage: SetStage | None = None

    @model_validator(mode="after")
    def _one(self) -> Action:
        given = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one action of {', '.join(ACTIONS)}")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)

    @property
    def config(self) -> Any:
        return getattr(self, self.kind)


class Automation(Strict):
    name: Annotated[str, Field(pattern=NAME)]
    description: str | None = None
    enabled: bool = True
    when: When
    conditions: LeadCondition | None = None
    actions: list[Action] = Field(min_length=1, max_length=20)


class AutomationsFile(Strict):
    version: Annotated[str | int, Field(union_mode="left_to_right")] = 1
    automations: list[Automation] = Field(min_length=1, max_length=500)
    """At least one: to switch automations off, deactivate the version instead."""

    def live(self) -> list[Automation]:
        """The enabled automations fired by lead changes (not by a schedule)."""
        return [a for a in self.automations if a.enabled and a.when.schedule is None]

    def scheduled(self) -> list[Automation]:
        return [a for a in self.automations if a.enabled and a.when.schedule is not None]

    def named(self, name: str) -> Automation | None:
        return next((a for a in self.automations if a.name == name), None)


# --- loading ---------------------------------------------------------------------------------

KNOWN_KEYS = (
    "version automations name description enabled when conditions actions "
    f"{' '.join(TRIGGERS)} from to threshold direction on type daily_at window "
    f"{' '.join(ACTIONS)} email slack template language to_owner url url_env secret_env team owner "
    "strategy territories reassign list sequence stage connector fields"
).split()


class AutomationsError(FileError):
    """An invalid automations file; `problems` lists every error found."""

    default_source = "automations"


@dataclass(frozen=True)
class Environment:
    """What the file is checked against beyond its own text."""

    connectors: frozenset[str] = frozenset()
    """The CRM connectors configured (LEADSCORE_CONNECTORS_FILE)."""


STORED = Environment(connectors=frozenset(("hubspot", "salesforce", "pipedrive")))
"""What a stored version is read back with: it was checked when it was stored."""


def load_automations_text(
    text: str, source: str = "automations", env: Environment | None = None
) -> AutomationsFile:
    """Load and validate automations YAML text."""
    data, lines, problems = read_yaml(
        text, what="an automations file must be a mapping (version, automations)"
    )
    if data is None:
        raise AutomationsError(problems, source)
    return validate_automations_data(data, lines, source, problems, env or Environment())


def validate_automations_data(
    data: object,
    lines: dict[str, int] | None = None,
    source: str = "automations",
    yaml_problems: Sequence[Problem] = (),
    env: Environment | None = None,
) -> AutomationsFile:
    lines = lines or {}
    env = env or Environment()
    found: dict[str, str] = {p.path: p.message for p in yaml_problems}
    parsed: AutomationsFile | None = None
    if not isinstance(data, dict):
        found[""] = "an automations file must be a mapping (version, automations)"
    else:
        try:
            parsed = AutomationsFile.model_validate(data)
        except ValidationError as exc:
            for path, message in pydantic_problems(exc, KNOWN_KEYS):
                found.setdefault(_clean(path), message)
    if parsed is not None:
        for path, message in _cross_checks(parsed, env):
            found.setdefault(path, message)
        if not found:
            return parsed
    raise AutomationsError(located(found, yaml_problems, lines), source)


def _clean(path: str) -> str:
    """pydantic's path of an alias or a union branch, as the file's key path."""
    return path.replace(".from_", ".from")


def _cross_checks(parsed: AutomationsFile, env: Environment) -> Iterator[tuple[str, str]]:
    seen: dict[str, int] = {}
    for i, automation in enumerate(parsed.automations):
        where = f"automations[{i}]"
        if automation.name in seen:
            yield (
                f"{where}.name",
                f"{automation.name!r} is already the name of automations[{seen[automation.name]}]",
            )
        seen.setdefault(automation.name, i)
        scheduled = automation.when.schedule is not None
        for j, action in enumerate(automation.actions):
            path = f"{where}.actions[{j}].{action.kind}"
            if scheduled and action.kind != "notify":
                yield path, "a scheduled automation (a digest) can only `notify`"
            if action.kind == "crm_update" and action.config.connector not in env.connectors:
                configured = ", ".join(sorted(env.connectors)) or "none is"
                yield (
                    f"{path}.connector",
                    f"no {action.config.connector} connector is configured ({configured}"
                    " configured): CRM connectors are set up in the connectors configuration"
                    " (docs/automations.md); remove this action until then",
                )
            if action.kind == "notify" and action.config.template == "digest" and not scheduled:
                yield f"{path}.template", "the digest template is for scheduled automations"


def json_schema() -> dict[str, Any]:
    """The file's JSON Schema (`leadscore schema --automations`)."""
    schema = AutomationsFile.model_json_schema(by_alias=True)
    schema["title"] = "leadscore automations file"
    return schema


# --- when an automation fires ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class State:
    """A lead's reported score at one moment (what triggers compare)."""

    score: float
    fit: float
    engagement: float
    grade: str | None
    tier: str | None
    stage: str | None

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in SNAPSHOT_FIELDS}


@dataclass(frozen=True, slots=True)
class Occasion:
    """What happened to one lead in one transaction."""

    lead: Lead
    owner: str | None
    at: int
    """When it happened (the scoring time), epoch µs."""
    before: State | None
    after: State | None
    stage_before: str | None = None
    """The shown stage before, when the lead was never scored (`before` is None)."""
    stage_after: str | None = None
    """The shown stage after (also without an active model, `after` None)."""
    created: bool = False
    events: tuple[tuple[str, str], ...] = ()
    """(id, type) of each event stored for the lead in this transaction."""


@dataclass(frozen=True, slots=True)
class Firing:
    automation: Automation
    occurrence: str
    trigger: dict[str, object] = field(default_factory=dict)
    """What fired, for people and templates: kind, description, details, before/after."""


def firings(automations: Iterable[Automation], occasion: Occasion) -> list[Firing]:
    """The automations `occasion` fires, with their occurrences, in file order."""
    fired = []
    for automation in automations:
        if not automation.enabled:
            continue
        for occurrence, trigger in _triggered(automation.when, occasion):
            if _holds(automation.conditions, occasion):
                fired.append(Firing(automation, occurrence, trigger))
    return fired


def _triggered(when: When, o: Occasion) -> Iterator[tuple[str, dict[str, object]]]:
    at = format_timestamp(o.at)
    base: dict[str, object] = {
        "at": at,
        "before": None if o.before is None else o.before.as_dict(),
        "after": None if o.after is None else o.after.as_dict(),
    }
    if when.lead_created is not None and o.created:
        yield "created", {"kind": "lead_created", "description": "lead created", **base}
    elif when.event_received is not None:
        for event_id, event_type in o.events:
            if event_type in when.event_received.type:
                yield (
                    f"event:{event_id}",
                    {
                        "kind": "event_received",
                        "description": f"{event_type} received",
                        "event": {"id": event_id, "type": event_type},
                        **base,
                    },
                )
    elif (crossing := when.score_crossed) is not None:
        before = None if o.before is None else getattr(o.before, crossing.on)
        after = None if o.after is None else getattr(o.after, crossing.on)
        if crossing.crossed(before, after):
            word = "upwards" if crossing.direction == "up" else "downwards"
            threshold = _number(crossing.threshold)
            yield (
                f"{crossing.on}:{crossing.direction}:{threshold}@{o.at}",
                {
                    "kind": "score_crossed",
                    "description": f"{crossing.on} crossed {threshold} {word}",
                    "field": crossing.on,
                    "threshold": crossing.threshold,
                    "direction": crossing.direction,
                    **base,
                },
            )
    elif (moved := when.tier_changed) is not None:
        if o.after is not None:
            before = None if o.before is None else o.before.tier
            if moved.matches(before, o.after.tier):
                yield (
                    f"tier@{o.at}",
                    {
                        "kind": "tier_changed",
                        "description": f"tier {before or '-'} → {o.after.tier or '-'}",
                        "from": before,
                        "to": o.after.tier,
                        **base,
                    },
                )
    elif (moved := when.stage_changed) is not None:
        before = o.before.stage if o.before is not None else o.stage_before
        if moved.matches(before, o.stage_after):
            yield (
                f"stage@{o.at}",
                {
                    "kind": "stage_changed",
                    "description": f"stage {before or '-'} → {o.stage_after or '-'}",
                    "from": before,
                    "to": o.stage_after,
                    **base,
                },
            )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def lookup(occasion: Occasion) -> Any:
    """A condition's field: the lead's new score and owner, else the lead's own fields."""
    after = occasion.after

    def get(name: str) -> object:
        if name in SNAPSHOT_FIELDS:
            if name == "stage":
                return occasion.stage_after
            return None if after is None else getattr(after, name)
        if name == "owner":
            return occasion.owner
        return occasion.lead.get(name)

    return get


def _holds(condition: Condition | None, occasion: Occasion) -> bool:
    if condition is None:
        return True
    return condition.holds(lookup(occasion), EvalContext(as_of=occasion.at))


def holds(automation: Automation, occasion: Occasion) -> bool:
    """Whether the automation's conditions hold for the lead as `occasion` leaves it (what a
    digest, which has no trigger of its own to test, selects leads by)."""
    return _holds(automation.conditions, occasion)


def needs_lead(automations: Iterable[Automation]) -> bool:
    """Whether any condition reads more than the new score: the lead's owner or its own
    fields (the bulk recompute reads those only then)."""
    for automation in automations:
        for node in walk(automation.conditions):
            if isinstance(node, Leaf) and node.field not in SNAPSHOT_FIELDS:
                return True
    return False
