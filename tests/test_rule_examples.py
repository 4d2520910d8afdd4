"""The default rule file tests itself: every rule says where its facts come
from (`source:`) and carries wordings (`example:`) that it must decide
with the whole file in force, ahead of every other rule."""

import pytest

from mailman_bouncerules.classify.rules.examples import ExampleError, example_report
from mailman_bouncerules.classify.rules.loader import load_rules
from mailman_bouncerules.classify.rules.ruleset import RuleSet

RULES = load_rules()
RULESET = RuleSet(RULES)
EXAMPLES = [(rule.name, line) for rule in RULES for line in rule.examples]


@pytest.mark.parametrize('rule', RULES, ids=[rule.name for rule in RULES])
def test_every_default_rule_has_a_source_and_examples(rule):
    assert rule.source, rule.name
    assert rule.examples, rule.name


@pytest.mark.parametrize('name, line', EXAMPLES,
                         ids=['%s: %s' % (name, line[:40])
                              for name, line in EXAMPLES])
def test_each_example_is_decided_by_its_own_rule(name, line):
    kind, recipient = example_report(line)
    decision = RULESET.decide(kind, recipient)
    assert decision.rule == name, decision.explain()


def test_an_example_with_an_unknown_fact_is_an_error():
    with pytest.raises(ExampleError):
        example_report('colour=red | 550 No such user')
