"""channels/speedups.py's windowed states, latest-turn action calls and applied events, called in
this process on the trained model's own policies and domain (test_flat_turns.py checks the same
over whole conversations through a server, which mutation testing cannot see).

Each patched function is compared with the Rasa function it replaces (`patching.rasa_function`),
on real trackers built from Rasa's events (tests/form_events.py): the policies must see exactly
the states Rasa's `Policy._prediction_states` gives, the action server exactly Rasa's request but
for the older events, and any case the speedups do not handle must go to Rasa's own code.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.core.featurizers.single_state_featurizer import SingleStateFeaturizer
from rasa.core.featurizers.tracker_featurizers import FullDialogueTrackerFeaturizer, MaxHistoryTrackerFeaturizer
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from channels import patching, speedups
from tests.conversations import DANA
from tests.form_events import details, form_start, session_start, user
from tests.servers import MODEL
from tests.test_state_window import question


class Model:
    """The trained model's policies, domain and rule-only data, without its NLU pipeline."""

    def __init__(self, storage_path: Path) -> None:
        storage, metadata = LocalModelStorage.from_model_archive(storage_path, MODEL)
        schema = metadata.predict_schema
        self.domain: Domain = metadata.domain
        components: dict[str, Any] = {}
        for name in ("run_MemoizationPolicy0", "run_RulePolicy1", "rule_only_data_provider"):
            node = schema.nodes[name]
            config = {**node.uses.get_default_config(), **node.config}
            context = ExecutionContext(schema, metadata.model_id, node_name=name)
            components[name] = node.uses.load(config, storage, node.resource, context)
        self.memoization: MemoizationPolicy = components["run_MemoizationPolicy0"]
        self.rules: RulePolicy = components["run_RulePolicy1"]
        self.rule_only_data: dict[str, Any] = components["rule_only_data_provider"].provide()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Model:
    return Model(tmp_path_factory.mktemp("model"))


def with_featurizer(policy: Policy, featurizer: Any) -> Policy:
    """The same trained policy with another tracker featurizer (as TEDPolicy's full dialogue one)."""
    other = copy.copy(policy)
    other._Policy__featurizer = featurizer  # Policy.featurizer has no setter
    return other


def full_dialogue(policy: Policy) -> Policy:
    return with_featurizer(policy, FullDialogueTrackerFeaturizer(SingleStateFeaturizer()))


def tracker(sender: str, events: list[Event], domain: Domain) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def in_the_form() -> list[Event]:
    """The inquiry form active (a rule-only loop) after the visitor's name, email and phone."""
    return [*session_start(), *form_start(), *details(DANA)]


def questions_then_a_message() -> list[Event]:
    """Rule-only (hidden) and ML turns, the inquiry offered (a rule-only slot), then a new message."""
    return [
        *session_start(),
        *question("how long?", "ask_duration", "A year.", hidden=True),
        SlotSet("offered_inquiry", True),
        *question("online?", "ask_delivery", "Yes.", hidden=False),
        *question("where?", "ask_campus", "Augusta.", hidden=True),
        *user("and the price?", "ask_duration"),
    ]


def cached_states(sender: str, events: list[Event], model: Model) -> TrackerWithCachedStates:
    return TrackerWithCachedStates.from_events(sender, events, model.domain.slots, domain=model.domain)


CONVERSATIONS = {"form": in_the_form, "questions": questions_then_a_message}


def rasas_states(policy: Policy, tracker: DialogueStateTracker, domain: Domain, **kwargs: Any) -> list[State]:
    return patching.rasa_function(speedups.STATES_WINDOW)(policy, tracker, domain, **kwargs)


def longest_rule(policy: RulePolicy) -> int:
    """The states of the longest rule the policy learned (its keys are states as JSON)."""
    keys = [key for lookup in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH) for key in policy.lookup[lookup]]
    return max(len(json.loads(key)) for key in keys)


def last_of_rasas_states(policy: Policy, tracker: DialogueStateTracker, domain: Domain, **kwargs: Any) -> list[State]:
    """Rasa's states, of which the rule policy is given one more than its longest rule."""
    window = 1 + longest_rule(policy) if isinstance(policy, RulePolicy) else policy.featurizer.max_history
    return rasas_states(policy, tracker, domain, **kwargs)[-window:]


# The dialogue states a policy is given


@pytest.mark.parametrize("conversation", sorted(CONVERSATIONS))
@pytest.mark.parametrize("policy_name", ["memoization", "rules"])
@pytest.mark.parametrize("use_text", [False, True], ids=["intent", "text"])
@pytest.mark.parametrize("with_rule_only_data", [True, False], ids=["rule-only-data", "no-rule-only-data"])
def test_the_windowed_policies_get_exactly_rasas_last_states(
    with_speedups, model, conversation, policy_name, use_text, with_rule_only_data
):
    policy = getattr(model, policy_name)
    rule_only = model.rule_only_data if with_rule_only_data else None
    events = CONVERSATIONS[conversation]()
    ours = tracker(f"windowed-{conversation}", events, model.domain)
    theirs = tracker(f"rasas-{conversation}", events, model.domain)
    expected = last_of_rasas_states(
        policy, theirs, model.domain, use_text_for_last_user_input=use_text, rule_only_data=rule_only
    )
    started = speedups._walks.started
    got = speedups.prediction_states(
        policy, ours, model.domain, use_text_for_last_user_input=use_text, rule_only_data=rule_only
    )
    assert got == expected
    assert speedups._walks.started == started + 1  # from the incremental walk, not Rasa's whole history


@pytest.mark.parametrize("policy_name", ["memoization", "rules"])
def test_by_default_the_last_message_is_given_as_its_intent_as_rasa_does(with_speedups, model, policy_name):
    policy = getattr(model, policy_name)
    events = questions_then_a_message()
    got = speedups.prediction_states(policy, tracker("default", events, model.domain), model.domain)
    assert got == last_of_rasas_states(policy, tracker("default-rasa", events, model.domain), model.domain)
    assert got[-1]["user"]["intent"] == "ask_duration" and "text" not in got[-1]["user"]


def test_the_states_of_the_next_turn_continue_the_walk(with_speedups, model):
    events = questions_then_a_message()
    ours = tracker("next-turn", events[:-2], model.domain)
    speedups.prediction_states(model.memoization, ours, model.domain)
    started = speedups._walks.started
    for event in events[-2:]:
        ours.update(event)
    got = speedups.prediction_states(model.memoization, ours, model.domain)
    assert got == rasas_states(model.memoization, tracker("next-turn-rasa", events, model.domain), model.domain)
    assert speedups._walks.started == started


@pytest.mark.parametrize("conversation", sorted(CONVERSATIONS))
@pytest.mark.parametrize("use_text", [False, True], ids=["intent", "text"])
@pytest.mark.parametrize("with_rule_only_data", [True, False], ids=["rule-only-data", "no-rule-only-data"])
def test_a_policy_with_another_featurizer_gets_rasas_own_states(
    with_speedups, model, conversation, use_text, with_rule_only_data
):
    """As TEDPolicy: the whole dialogue, from Rasa's own code, with the arguments it was given."""
    policy = full_dialogue(model.memoization)
    rule_only = model.rule_only_data if with_rule_only_data else None
    events = CONVERSATIONS[conversation]()
    started = speedups._walks.started
    got = speedups.prediction_states(policy, tracker("ted", events, model.domain), model.domain, use_text, rule_only)
    assert got == rasas_states(
        policy,
        tracker("ted-rasa", events, model.domain),
        model.domain,
        use_text_for_last_user_input=use_text,
        rule_only_data=rule_only,
    )
    assert speedups._walks.started == started


@pytest.mark.parametrize("policy_name", ["memoization", "rules"])
def test_a_tracker_subclass_gets_rasas_own_states(with_speedups, model, policy_name):
    """Training's trackers (TrackerWithCachedStates) keep Rasa's path."""
    policy = getattr(model, policy_name)
    events = questions_then_a_message()
    started = speedups._walks.started
    got = speedups.prediction_states(
        policy, cached_states("training", events, model), model.domain, True, model.rule_only_data
    )
    assert got == rasas_states(
        policy,
        cached_states("training-rasa", events, model),
        model.domain,
        use_text_for_last_user_input=True,
        rule_only_data=model.rule_only_data,
    )
    assert speedups._walks.started == started


def test_the_conversations_exercise_what_the_states_depend_on(with_speedups, model):
    """Each argument changes Rasa's states here, so a windowed state that ignored one would differ."""
    memo, domain = model.memoization, model.domain
    for name, make in CONVERSATIONS.items():
        states = rasas_states(memo, tracker(name, make(), domain), domain, rule_only_data=model.rule_only_data)
        assert states != rasas_states(memo, tracker(name, make(), domain), domain), name
    questions = tracker("questions", questions_then_a_message(), domain)
    by_text = rasas_states(memo, questions, domain, use_text_for_last_user_input=True)
    assert by_text != rasas_states(memo, questions, domain)
    all_turns = rasas_states(with_featurizer(model.rules, memo.featurizer), questions, domain)
    assert all_turns != rasas_states(memo, questions, domain)  # hidden rule turns count for rules only


# How many states each policy is given


def test_memoization_gets_its_max_history_of_states(model):
    assert model.memoization.featurizer.max_history == 3
    assert speedups.states_window(model.memoization) == 3


def test_the_rule_policy_gets_one_state_more_than_its_longest_rule(model):
    assert model.rules.lookup[RULES] and model.rules.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]
    assert speedups.states_window(model.rules) == 1 + longest_rule(model.rules)


def test_a_rule_policy_without_rules_gets_the_last_state(model):
    empty = copy.copy(model.rules)
    empty.lookup = {}
    assert speedups.states_window(empty) == 1


def test_the_rule_window_is_worked_out_once_per_policy(model):
    rules = copy.copy(model.rules)
    rules.lookup = dict(model.rules.lookup)
    window = speedups.states_window(rules)
    rules.lookup = {}  # not read again
    assert speedups.states_window(rules) == window == 1 + longest_rule(model.rules)


def test_a_policy_without_a_max_history_featurizer_gets_no_window(model):
    assert speedups.states_window(full_dialogue(model.memoization)) is None
    assert speedups.states_window(full_dialogue(model.rules)) is None


def test_a_policy_other_than_rules_without_max_history_gets_no_window(model):
    unlimited = with_featurizer(model.memoization, MaxHistoryTrackerFeaturizer(SingleStateFeaturizer()))
    assert speedups.states_window(unlimited) is None


# The events sent to the action server


def turn_events() -> list[Event]:
    return [
        ActionExecuted("action_listen"),
        UserUttered("how long is it?", {"name": "ask_duration", "confidence": 0.9}),
        ActionExecuted("action_answer_duration"),
        BotUttered("A year."),
    ]


LATEST_TURNS = {
    # earlier events, the latest turn's (the first case first: a broken walk back ends there)
    "bot-actions-before-the-turn": (
        [ActionExecuted("action_session_start"), ActionExecuted("action_greet")],
        [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet", "confidence": 0.9})],
    ),
    "action-second": (
        [SessionStarted()],
        [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet", "confidence": 0.9})],
    ),
    "message-at-the-start": ([], [UserUttered("hi", {"name": "greet", "confidence": 0.9}), BotUttered("Hello!")]),
    "action-at-the-start": ([], turn_events()),
    "several-turns": ([*session_start(), *turn_events(), *turn_events()], turn_events()),
    "message-last": (
        [*session_start(), *turn_events()],
        [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet", "confidence": 0.9})],
    ),
    "odd-events-after-the-message": (
        [*session_start(), *turn_events()],
        [*turn_events(), ActionExecuted("action_listen")],
    ),
    "events-between-action-and-message": (
        [*session_start(), *turn_events()],
        [ActionExecuted("action_listen"), SlotSet("last_topic", None), *turn_events()[1:]],
    ),
    "no-visitor-message": ([], [ActionExecuted("action_session_start"), SessionStarted(), BotUttered("Hello!")]),
}


@pytest.mark.parametrize("case", list(LATEST_TURNS))
def test_the_latest_turn_is_the_events_from_the_action_before_the_latest_message(case):
    earlier, latest = LATEST_TURNS[case]
    assert speedups.latest_turn(DialogueStateTracker.from_events("turns", [*earlier, *latest])) == latest


def action(name: str, **endpoint: Any) -> RemoteAction:
    return RemoteAction(name, EndpointConfig("http://127.0.0.1:5055/webhook", **endpoint))


@pytest.mark.parametrize("selective", [False, True], ids=["whole-domain", "selective-domain"])
def test_an_action_gets_rasas_request_with_the_latest_turns_events_only(with_speedups, model, selective):
    earlier = [*session_start(), *turn_events(), SlotSet("offered_inquiry", True)]
    latest = turn_events()
    conversation = tracker("call", [*earlier, *latest], model.domain)
    answer = action("action_answer_duration", enable_selective_domain=selective)
    expected = patching.rasa_function(speedups.LATEST_TURN_TO_ACTIONS)(answer, conversation, model.domain)
    expected["tracker"]["events"] = [event.as_dict() for event in latest]
    got = speedups.action_call_format(answer, conversation, model.domain)
    assert got == expected
    assert got["next_action"] == "action_answer_duration" and got["sender_id"] == "call"
    assert got["version"] == rasa.__version__ and got["tracker"]["slots"]["offered_inquiry"] is True
    assert ("domain" in got) is not selective


def test_an_action_declaring_it_needs_the_domain_gets_it_with_selective_domain(with_speedups):
    domain = Domain.from_dict({"actions": [{"action_answer_duration": {"send_domain": True}}, "action_answer_campus"]})
    conversation = DialogueStateTracker.from_events("needs-domain", turn_events())
    needs = speedups.action_call_format(
        action("action_answer_duration", enable_selective_domain=True), conversation, domain
    )
    other = speedups.action_call_format(
        action("action_answer_campus", enable_selective_domain=True), conversation, domain
    )
    assert needs["domain"] == domain.as_dict()
    assert "domain" not in other


def test_the_submitting_action_gets_rasas_request_with_every_event(with_speedups, model):
    events = [*in_the_form(), *turn_events()]
    conversation = tracker("submit", events, model.domain)
    submit = action("action_submit_inquiry")
    got = speedups.action_call_format(submit, conversation, model.domain)
    assert got == patching.rasa_function(speedups.LATEST_TURN_TO_ACTIONS)(submit, conversation, model.domain)
    assert len(got["tracker"]["events"]) == len(events)


# The applied events


def test_a_plain_tracker_gets_its_applied_events_extended_turn_by_turn(with_speedups, model):
    events = questions_then_a_message()
    conversation = tracker("applied", events, model.domain)
    held = len(speedups._applied)
    got = speedups.applied_events(conversation)
    assert got == patching.rasa_function(speedups.APPLIED_EVENTS_EXTENDED)(conversation)
    assert len(speedups._applied) == held + 1


def test_a_tracker_subclass_gets_rasas_own_applied_events(with_speedups, model):
    events = questions_then_a_message()
    cached = cached_states("training", events, model)
    held = len(speedups._applied)
    got = speedups.applied_events(cached)
    assert got == patching.rasa_function(speedups.APPLIED_EVENTS_EXTENDED)(cached)
    assert len(speedups._applied) == held
