"""Measure the classifier on a corpus of real bounces.

    python -m mailman_bouncerules.tools.evaluate CORPUS_DIR [--rules FILE] [--show]

CORPUS_DIR holds `emails/` and `truth.jsonl` (one expected result per
email).  Prints recipient recall, classification agreement, wrongful
unsubscribes, the share of unknown users removed at once, and throughput
next to flufl.bounce (Mailman's stock detector) over the same emails.
Exits 1 if any unsubscribe was wrongful: that number must never regress.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flufl.bounce import all_failures

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing.mime import load_message
from mailman_bouncerules.classify.rules.ruleset import Decision, RuleSet
from mailman_bouncerules.tools.console import console_script

# Reasons that justify removing an address (corpus vocabulary).
REMOVABLE = {'userunknown', 'hostunknown', 'hasmoved'}


# Timings are the best of this many passes: on a shared machine the best
# is the one least disturbed by others.
ROUNDS = 7

# One line of truth.jsonl, and the corpus as (line, the email's bytes).
Entry = dict[str, Any]
Corpus = list[tuple[Entry, bytes]]

def expected_class(expected: Entry) -> str:
    """The corpus's verdict in this product's terms."""
    reason = expected['reason']
    if reason == 'feedback':
        return 'complaint'
    if reason in ('vacation', 'delivered'):
        return 'soft'
    if reason == 'suspend':
        return 'hard'       # mailbox disabled: counted in our policy
    return 'hard' if expected['hard'] else 'soft'


def is_wrongful_unsubscribe(expected: Entry) -> bool:
    reason = expected['reason']
    return not (reason in REMOVABLE or (reason == 'notaccept' and expected['hard']))


def load_corpus(corpus: Path) -> list[tuple[Entry, bytes]]:
    """[(expected entry, email bytes)] for every line of truth.jsonl."""
    truth = [json.loads(line) for line in
             (corpus / 'truth.jsonl').read_text(encoding='utf-8').splitlines()
             if line.strip()]
    return [(entry, (corpus / 'emails' / entry['file']).read_bytes())
            for entry in truth]


def evaluate(emails: Corpus, classifier: Classifier,
             show: bool = False) -> dict[str, int]:
    """Count what the classifier got right against the expected results."""
    counts = dict(expected=0, found=0, agree=0, wrongful=0, unknown_users=0,
                  unknown_removed=0)
    for entry, data in emails:
        _report, decisions = classifier.classify(data)
        by_address: dict[str, Decision] = {}
        for decision in decisions:
            by_address.setdefault(decision.recipient.address, decision)
            if decision.recipient.original_address:
                by_address.setdefault(decision.recipient.original_address,
                                      decision)
        for expected in entry['recipients']:
            if expected['reason'] == 'delivered':
                continue
            counts['expected'] += 1
            names = [expected['address'].lower()] + [
                alt.lower() for alt in expected.get('address_alt', ())]
            found = next((by_address[n] for n in names if n in by_address),
                         None)
            if expected['reason'] == 'userunknown':
                counts['unknown_users'] += 1
            if found is None:
                if show:
                    print('MISSED   %-28s %s %s' % (
                        entry['file'], expected['address'], expected['reason']))
                continue
            counts['found'] += 1
            want = expected_class(expected)
            if found.classification == want:
                counts['agree'] += 1
            elif show:
                print('DISAGREE %-28s %-12s want %-9s got %-5s %-24s %s | %s'
                      % (entry['file'], expected['reason'], want,
                         found.classification, found.rule,
                         found.recipient.status,
                         (found.recipient.diagnostic or '')[:150]))
            if found.action == 'unsubscribe':
                if is_wrongful_unsubscribe(expected):
                    counts['wrongful'] += 1
                    print('WRONGFUL UNSUBSCRIBE %s %s (%s): %s' % (
                        entry['file'], expected['address'],
                        expected['reason'], found.explain()))
                if expected['reason'] == 'userunknown':
                    counts['unknown_removed'] += 1
    return counts


def throughput(emails: Corpus, classifier: Classifier,
               rounds: int = ROUNDS) -> tuple[float, float]:
    """Best of a few rounds each, both starting from the raw bytes."""
    def ours() -> None:
        for _entry, data in emails:
            classifier.classify(data)

    def stock() -> None:
        for _entry, data in emails:
            all_failures(load_message(data))
    return (len(emails) / _best_time(ours, rounds),
            len(emails) / _best_time(stock, rounds))


def time_split(emails: Corpus, classifier: Classifier,
               rounds: int = ROUNDS) -> tuple[float, float, float]:
    """Seconds per pass over the corpus: (the email package's parsing,
    the rest of bouncerules' reading and deciding, flufl.bounce's
    detectors), each on already parsed messages where it can be."""
    messages = [load_message(data) for _entry, data in emails]
    parse = _best_time(lambda: [load_message(data) for _entry, data in emails],
                       rounds)
    ours = _best_time(lambda: [classifier.classify(m) for m in messages],
                      rounds)
    stock = _best_time(lambda: [all_failures(m) for m in messages], rounds)
    return parse, ours, stock


# A bare flufl.bounce script: what stock Mailman's detector costs to start.
_BARE_FLUFL = ('import email, sys\n'
               'from email.policy import compat32\n'
               'from flufl.bounce import all_failures\n'
               'with open(sys.argv[1], "rb") as f:\n'
               '    all_failures(email.message_from_binary_file(f, policy=compat32))\n')


def start_up(path: Path, runs: int = 9) -> tuple[float, float]:
    """Median seconds, start-up included, for `bouncerules classify` and
    for a bare flufl.bounce script on the same bounce file.

    Both as installed code starts: with its modules' bytecode cached (pip
    compiles it at install; an editable checkout under
    PYTHONDONTWRITEBYTECODE would compile every module on every start), so
    each command runs once untimed first."""
    console = console_script()
    environment = {name: value for name, value in os.environ.items()
                   if name != 'PYTHONDONTWRITEBYTECODE'}

    def median(command: list[str]) -> float:
        times = []
        for run in range(runs + 1):
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True,
                           env=environment)
            if run:
                times.append(time.perf_counter() - start)
        return statistics.median(times)
    return (median([str(console), 'classify', str(path)]),
            median([sys.executable, '-c', _BARE_FLUFL, str(path)]))


def _best_time(function: Callable[[], object], rounds: int) -> float:
    best = float('inf')
    for _round in range(rounds):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


@click.command()
@click.argument('corpus', type=click.Path(exists=True, file_okay=False,
                                          path_type=Path))
@click.option('--rules', 'rules_file', type=click.Path(dir_okay=False),
              help='An admin rule file to apply on top of the defaults.')
@click.option('--show', is_flag=True, help='List every miss and disagreement.')
def main(corpus: Path, rules_file: str | None, show: bool) -> None:
    classifier = Classifier(RuleSet.from_files(rules_file))
    emails = load_corpus(corpus)
    counts = evaluate(emails, classifier, show)
    ours, flufl = throughput(emails, classifier)
    found = counts['found']
    print('emails                          %d' % len(emails))
    print('recipient recall                %.1f%% (%d of %d)' % (
        _percent(found, counts['expected']), found, counts['expected']))
    print('classification agreement        %.1f%% (%d of %d found)' % (
        _percent(counts['agree'], found), counts['agree'], found))
    print('wrongful unsubscribes           %d' % counts['wrongful'])
    print('userunknown unsubscribed at once %.1f%% (%d of %d)' % (
        _percent(counts['unknown_removed'], counts['unknown_users']),
        counts['unknown_removed'], counts['unknown_users']))
    print('throughput, bouncerules         %.0f messages/s' % ours)
    print('throughput, flufl.bounce        %.0f messages/s' % flufl)
    print('speed ratio to flufl.bounce     %.2fx from raw bytes' % (
        ours / flufl))
    parse, reading, detectors = time_split(emails, classifier)
    # Mailman's bounce runner hands over a message its LMTP runner parsed:
    # on that path only the reading and deciding count.
    print('speed ratio to flufl.bounce     %.2fx on parsed messages (the '
          'runner path)' % (detectors / reading))
    print('time per pass: email parsing    %.3f s; then bouncerules %.3f s, '
          'flufl.bounce %.3f s' % (parse, reading, detectors))
    first = sorted((corpus / 'emails').iterdir())[0]
    command, bare = start_up(first)
    print('start-up, bouncerules classify  %.3f s (flufl.bounce script '
          '%.3f s, +%.3f s)' % (command, bare, command - bare))
    sys.exit(1 if counts['wrongful'] else 0)


if __name__ == '__main__':
    main()
