"""The one table of dispute states, tiers and the actions allowed between them.

Every action in ``civgrid.mediation.actions`` asks :func:`target` before it changes a dispute.
A dispute is mediated at one tier at a time; failing there, it moves up one tier (an action
with a reason) and, from the township center, is referred to the judicial route.
"""

from __future__ import annotations

from dataclasses import dataclass

from civgrid.calendar.units import TimeUnit
from civgrid.choices import LabelledEnum
from civgrid.errors import Conflict


class DisputeState(LabelledEnum):
    MEDIATING = ("mediating", "调解中", "In mediation", "blue", "open")
    AGREED = ("agreed", "达成协议", "Agreement reached", "green", "closed")
    FULFILLED = ("fulfilled", "协议已履行", "Agreement carried out", "green", "closed")
    UNFULFILLED = ("unfulfilled", "协议未履行", "Agreement not carried out", "orange", "closed")
    WITHDRAWN = ("withdrawn", "已撤回", "Withdrawn", "grey", "closed")
    REFERRED = ("referred", "已转司法途径", "Referred to the judicial route", "purple", "closed")


class Tier(LabelledEnum):
    """Where a dispute is mediated; the group is the time limit in working days."""

    GRID = ("grid", "网格调解", "Grid", "green", "5")
    VILLAGE = ("village", "村（社区）调委会", "Village mediation committee", "teal", "15")
    TOWNSHIP = ("township", "镇（街道）调解中心", "Township mediation center", "blue", "30")
    JUDICIAL = ("judicial", "司法途径", "Judicial route", "purple", "")

    @property
    def limit(self) -> tuple[float, TimeUnit] | None:
        """The time limit at this tier on the working calendar (none once referred)."""
        return (float(self.group), TimeUnit.WORK_DAYS) if self.group else None

    def higher(self) -> Tier | None:
        order = list(Tier)
        i = order.index(self)
        return order[i + 1] if i + 1 < len(order) else None


# 基层化解: resolved at the grid or village level.
GRASSROOTS = frozenset({Tier.GRID, Tier.VILLAGE})


class DisputeAction(LabelledEnum):
    CREATE = ("create", "登记纠纷", "Register dispute")
    SESSION = ("session", "调解", "Mediation session")
    ESCALATE = ("escalate", "提交上一级调解", "Move up a tier")
    REFER = ("refer", "转司法途径", "Refer to the judicial route")
    AGREE = ("agree", "达成协议", "Agreement reached")
    WITHDRAW = ("withdraw", "当事人撤回", "Withdrawn by the parties")
    FOLLOW_UP = ("follow_up", "履行回访", "Follow-up on the agreement")
    ATTACH = ("attach", "上传签字协议书", "Attach the signed agreement")


class SessionOutcome(LabelledEnum):
    CONTINUED = ("continued", "继续调解", "Mediation continues", "blue")
    AGREEMENT = ("agreement", "达成协议", "Agreement", "green")
    WITHDRAWAL = ("withdrawal", "当事人撤回", "Withdrawal", "grey")
    FAILURE = ("failure", "调解不成", "Failure", "red")


class Referral(LabelledEnum):
    COURT = ("court", "人民法院", "Court")
    ARBITRATION = ("arbitration", "仲裁机构", "Arbitration")
    PETITION = ("petition", "信访部门", "Petition office")


S = DisputeState
A = DisputeAction
T = Tier


@dataclass(frozen=True)
class Transition:
    sources: frozenset[DisputeState]
    to: DisputeState | None  # None: the state stays
    tiers: frozenset[Tier]  # the tiers at which the action may be taken


MEDIATION_TIERS = frozenset({T.GRID, T.VILLAGE, T.TOWNSHIP})
ANY_TIER = frozenset(Tier)

TRANSITIONS: dict[DisputeAction, Transition] = {
    A.SESSION: Transition(frozenset({S.MEDIATING}), None, MEDIATION_TIERS),
    A.ESCALATE: Transition(frozenset({S.MEDIATING}), None, frozenset({T.GRID, T.VILLAGE})),
    A.REFER: Transition(frozenset({S.MEDIATING}), S.REFERRED, frozenset({T.TOWNSHIP})),
    A.AGREE: Transition(frozenset({S.MEDIATING}), S.AGREED, MEDIATION_TIERS),
    A.WITHDRAW: Transition(frozenset({S.MEDIATING}), S.WITHDRAWN, MEDIATION_TIERS),
    A.FOLLOW_UP: Transition(frozenset({S.AGREED}), None, MEDIATION_TIERS),
    A.ATTACH: Transition(frozenset({S.AGREED, S.FULFILLED, S.UNFULFILLED}), None, ANY_TIER),
}


def allowed_actions(state: DisputeState, tier: Tier) -> list[DisputeAction]:
    """The actions the table allows for a dispute in ``state`` at ``tier``."""
    return [a for a, t in TRANSITIONS.items() if state in t.sources and tier in t.tiers]


def target(action: DisputeAction, state: DisputeState, tier: Tier) -> DisputeState:
    """The state ``action`` leads to; 409 naming the state and tier when it is not allowed."""
    rule = TRANSITIONS.get(action)
    if rule is None or state not in rule.sources:
        raise Conflict(
            f"cannot {action.value} a dispute that is {state.value} ({state.label_zh})",
            state=str(state),
            allowed_actions=[str(a) for a in allowed_actions(state, tier)],
        )
    if tier not in rule.tiers:
        raise Conflict(
            f"cannot {action.value} at the {tier.value} tier ({tier.label_zh})",
            tier=str(tier),
            allowed_actions=[str(a) for a in allowed_actions(state, tier)],
        )
    return rule.to if rule.to is not None else state
