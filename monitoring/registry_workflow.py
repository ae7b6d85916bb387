"""The registry acts of the champion/challenger workflow: every gate's verdict and every
person's act (promote, reject, rollback) sets MLflow aliases and tags and is appended to the
event ledger with its reason; ``champion_history`` (a tag on the registered model) is what
makes a rollback exact, and the ``queued`` alias holds the batch's newest version while the
challenger in shadow awaits its live verdict.

No Dagster import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from agents.desk.ledger import Event, EventLog
from agents.model_names import (
    LIVE_VERDICT_TAG,
    OFFLINE_GATE_TAG,
    QUEUED,
)
from agents.model_registry import (
    CHALLENGER,
    CHAMPION,
    candidate_version,
    challenger_in_shadow,
    model_name,
)
from monitoring.promotion import GateDecision

HISTORY_TAG = "champion_history"
BOOTSTRAP_OFF_ACTOR = "QUORUM_BOOTSTRAP_GATE=false"  # who made a refused first version champion


@dataclass(frozen=True)
class RegistryAct:
    act: str  # gate_promoted | gate_admitted | gate_refused | promoted | rejected | rolled_back
    # | entered_shadow
    agent: str
    version: str
    previous_champion: str | None
    champion_after: str | None
    actor: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


class PromotionWorkflow:
    """Sets aliases and tags in the MLflow registry and records every act in the ledger."""

    def __init__(self, client: MlflowClient, log: EventLog) -> None:
        self.client, self.log = client, log

    def champion(self, agent: str) -> str | None:
        return self._alias(agent, CHAMPION)

    def challenger(self, agent: str) -> str | None:
        return self._alias(agent, CHALLENGER)

    def queued(self, agent: str) -> str | None:
        return self._alias(agent, QUEUED)

    def candidate(self, agent: str) -> str | None:
        """The newest version the offline gate has to judge (queued, else challenger)."""
        return candidate_version(self.client, model_name(agent))

    def version_tags(self, agent: str, version: str) -> dict[str, str]:
        return dict(self.client.get_model_version(model_name(agent), version).tags)

    def apply_gate(self, agent: str, version: str, decision: GateDecision) -> RegistryAct:
        """The daily batch's offline act once a champion trades: a challenger that passes is
        admitted to shadow (``gate_admitted``), it does not become champion on backtested
        evidence alone: only the live gate promotes, on shadow (and canary) cycles. One
        with no common window long enough to compare (and nothing else against it) is
        admitted too, on live evidence alone. The verdict is tagged on the version
        (``OFFLINE_GATE_TAG``), which the live gate reads."""
        verdict = decision.offline_verdict
        reason = "; ".join(decision.reasons)
        if verdict == "passed":
            reason = ("offline gate passed (better out of sample, undrifted, clean data): "
                      "admitted to shadow; the live gate decides")  # fmt: skip
        elif verdict == "not_comparable":
            reason = f"admitted to shadow on live evidence alone: {reason}"
        self.client.set_model_version_tag(model_name(agent), version, OFFLINE_GATE_TAG, verdict)
        if verdict == "refused" and self.queued(agent) == version:
            # Never to enter shadow: the live gate would refuse it whatever it did there.
            self.client.delete_registered_model_alias(model_name(agent), QUEUED)
        champion = self.champion(agent)
        act = RegistryAct(
            "gate_refused" if verdict == "refused" else "gate_admitted", agent, version,
            champion, champion, "promotion_gate", reason, decision.record(),
        )  # fmt: skip
        self._tag_version(act)
        self._append(act)
        return act

    def apply_bootstrap(
        self,
        agent: str,
        version: str,
        promote: bool,
        reason: str,
        details: dict[str, Any],
        enforce: bool = True,
    ) -> tuple[RegistryAct, str]:
        """A bootstrap gate's verdict on an agent's first version, and the outcome as the UI
        states it. ``enforce`` False (``QUORUM_BOOTSTRAP_GATE=false``): a refused version is
        champion anyway, with the verdict it overrode as the reason."""
        if promote or enforce:
            act = self.apply_verdict(agent, version, promote, reason, details)
            return act, ("promoted" if promote else "refused") + " (bootstrap gate)"
        act = self.promote(agent, version, BOOTSTRAP_OFF_ACTOR,
                           f"bootstrap gate off; it would have refused: {reason}")  # fmt: skip
        return act, "champion by setting (the bootstrap gate, off, would have refused)"

    def apply_verdict(
        self, agent: str, version: str, promote: bool, reason: str, details: dict[str, Any]
    ) -> RegistryAct:
        """Any agent's gate: champion when it passed, else the refusal recorded."""
        if promote:
            return self._set_champion(agent, version, "gate_promoted", "promotion_gate", reason,
                                      details)  # fmt: skip
        act = RegistryAct(
            "gate_refused", agent, version, self.champion(agent), self.champion(agent),
            "promotion_gate", reason, details,
        )  # fmt: skip
        self._tag_version(act)
        self._append(act)
        return act

    def promote(self, agent: str, version: str, actor: str, reason: str) -> RegistryAct:
        """A person's override: champion without the gate, recorded as such."""
        self._require_version(agent, version)
        act = self._set_champion(agent, str(version), "promoted", actor, reason, {})
        self.advance_queue(agent)  # a promoted challenger no longer holds the queue
        return act

    def reject(self, agent: str, version: str, actor: str, reason: str) -> RegistryAct:
        """Takes the challenger alias off ``version``; a champion cannot be rejected (roll
        back instead)."""
        self._require_version(agent, version)
        champion = self.champion(agent)
        if version == champion:
            raise ValueError(
                f"{model_name(agent)} v{version} is the champion: roll back instead of rejecting"
            )
        for alias in (CHALLENGER, QUEUED):
            if self._alias(agent, alias) == version:
                self.client.delete_registered_model_alias(model_name(agent), alias)
        self.client.set_model_version_tag(model_name(agent), version, LIVE_VERDICT_TAG,
                                          "rejected")  # fmt: skip
        act = RegistryAct("rejected", agent, version, champion, champion, actor, reason)
        self._tag_version(act)
        self._append(act)
        self.advance_queue(agent)
        return act

    def settle_live(self, agent: str, version: str, verdict: str) -> RegistryAct | None:
        """A live gate judged ``version`` on enough evidence (``verdict``: promoted or
        refused): recorded on it, and the version queued behind it, if any, enters shadow."""
        self.client.set_model_version_tag(model_name(agent), version, LIVE_VERDICT_TAG, verdict)
        return self.advance_queue(agent)

    def advance_queue(self, agent: str) -> RegistryAct | None:
        """The queued version becomes challenger once no challenger awaits a live verdict
        (``entered_shadow``, in the ledger); None when nothing moved."""
        name = model_name(agent)
        queued, challenger = self.queued(agent), self.challenger(agent)
        champion = self.champion(agent)
        if queued is None or challenger_in_shadow(self.client, name) is not None:
            return None
        self.client.set_registered_model_alias(name, CHALLENGER, queued)
        self.client.delete_registered_model_alias(name, QUEUED)
        # A promoted challenger is the champion now; a rejected one has left the alias.
        before = f"v{challenger} was judged" if challenger else "the challenger was rejected"
        act = RegistryAct("entered_shadow", agent, queued, champion, champion, "registry_queue",
                          f"v{queued} leaves the queue for shadow: {before}")  # fmt: skip
        self._append(act)
        return act

    def rollback(self, agent: str, actor: str, reason: str) -> RegistryAct:
        """Restores the champion before the current one."""
        name = model_name(agent)
        history = self._history(agent)
        current = self.champion(agent)
        if len(history) < 2 or history[-1] != current:
            raise ValueError(
                f"{name}: no earlier champion to roll back to (history {history}, "
                f"champion {current})"
            )
        previous = history[-2]
        self.client.set_registered_model_alias(name, CHAMPION, previous)
        self.client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[:-1]))
        act = RegistryAct("rolled_back", agent, current, current, previous, actor, reason)
        self._tag_version(act)
        self._append(act)
        return act

    # ---- helpers ------------------------------------------------------------------------

    def _set_champion(
        self, agent: str, version: str, kind: str, actor: str, reason: str, details: dict
    ) -> RegistryAct:
        name = model_name(agent)
        previous = self.champion(agent)
        history = self._history(agent)
        if not history and previous is not None:
            history = [previous]  # the bootstrap champion, from before history was kept
        self.client.set_registered_model_alias(name, CHAMPION, version)
        if not history or history[-1] != version:
            history.append(version)
        self.client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
        act = RegistryAct(kind, agent, version, previous, version, actor, reason, details)
        self._tag_version(act)
        self._append(act)
        return act

    def _history(self, agent: str) -> list[str]:
        tags = self.client.get_registered_model(model_name(agent)).tags
        return [str(v) for v in json.loads(tags[HISTORY_TAG])] if HISTORY_TAG in tags else []

    def _alias(self, agent: str, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(model_name(agent), alias).version)
        except MlflowException:
            return None

    def _require_version(self, agent: str, version: str) -> None:
        try:
            self.client.get_model_version(model_name(agent), version)
        except MlflowException as error:
            raise ValueError(f"{model_name(agent)} has no version {version!r}") from error

    def _tag_version(self, act: RegistryAct) -> None:
        tags = {
            "promotion.last_act": act.act,
            "promotion.actor": act.actor,
            "promotion.reason": act.reason[:4000],
            "promotion.at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if act.details:
            tags["promotion.details"] = json.dumps(act.details, default=str)[:4000]
        for key, value in tags.items():
            self.client.set_model_version_tag(model_name(act.agent), act.version, key, value)

    def _append(self, act: RegistryAct) -> None:
        now = datetime.now(UTC)
        event_id = f"registry/{act.agent}/v{act.version}/{act.act}/{now.isoformat()}"
        self.log.append([Event(event_id, "registry", "model_" + act.act, now, asdict(act))])
