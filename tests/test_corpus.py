"""The classifier on the shared real-world corpus, when it is present.

The corpus lives beside the checkout (../shared/corpus) and is not part of
the project; without it these tests are skipped.
"""

from pathlib import Path

import pytest

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.tools.evaluate import evaluate, load_corpus

CORPUS = Path(__file__).resolve().parent.parent.parent / 'shared' / 'corpus'

pytestmark = pytest.mark.skipif(not (CORPUS / 'truth.jsonl').exists(),
                                reason='../shared/corpus is not present')


@pytest.fixture(scope='module')
def results():
    return evaluate(load_corpus(CORPUS), Classifier())


def test_no_wrongful_unsubscribe(results):
    assert results['wrongful'] == 0


def test_recipient_recall(results):
    assert results['found'] / results['expected'] >= 0.99
