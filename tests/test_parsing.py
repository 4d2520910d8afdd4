"""The parser's shortcuts read exactly what the plain expressions read."""

import re
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from hypothesis import given, settings
from hypothesis import strategies as st

from mailman_bouncerules.classify.parsing import bounce, codes, freetext, mime
from mailman_bouncerules.classify.parsing.codes import (
    ADDRESS,
    STATUS,
    find_addresses,
    first_smtp_code,
)
from mailman_bouncerules.classify.parsing.mime import walk_notification
from mailman_bouncerules.classify.prefilter import Gated

# Pieces that make addresses, near-addresses and the characters the
# address expression's look back and look ahead treat specially.
ADDRESS_PIECES = ['a', 'Bé', '@', '.', '-', '_', ' ', '\n', '<', '>', '@@',
                  'x.org', '..', "'", '!', 'ß', '\u0661', '\udc80', '\ufffd',
                  'smtp=', 'carl@example.net', '-bounces@']


@settings(max_examples=500)
@given(st.lists(st.sampled_from(ADDRESS_PIECES) | st.text(max_size=4),
                max_size=20))
def test_addresses_found_from_the_ats_are_the_expressions_matches(pieces):
    text = ''.join(pieces)
    assert [m.span() for m in find_addresses(text)] == [
        m.span() for m in ADDRESS.finditer(text)]


# The status expression as first written: the look back before the digit.
LOOK_BACK_FIRST = re.compile(
    r'(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)')


@settings(max_examples=500)
@given(st.lists(st.sampled_from(['5', '4', '2', '1', '0', '.', ' ', 'x',
                                 '5.1.1', '4.7.0', '10']), max_size=16))
def test_status_codes_are_found_where_the_look_back_first_finds_them(pieces):
    text = ''.join(pieces)
    assert [(m.span(), m.groups()) for m in STATUS.finditer(text)] == [
        (m.span(), m.groups()) for m in LOOK_BACK_FIRST.finditer(text)]


GATED = [freetext._NOT_A_RECIPIENT_CONTEXT, freetext._HIDDEN_REDIRECT,
         freetext._RCPT_BEFORE, freetext._DELAY_WORDS, freetext._SUCCEEDED,
         freetext._REMOTE_HOST, *codes._COMMAND_PHRASES]
CONTEXT_WORDS = ['From', 'sender', 'RCPT TO:', 'undisclosed address',
                 '(generated from', 'http://x', 'Reply-To', 'has been delayed',
                 'will keep trying', ' ', ':', '<', '=', 'ÜSER', 'K\u212a',
                 'was delivered', 'Succeeded', 'host ', 'mx.example.org',
                 '[', 'HOST', 'delivery ', 'delayed', 'retry', '(delay)',
                 'Warning: message ', 'will ', 'a', 'in reply to ', 'DATA',
                 'RCPT TO', 'after end of ', "didn't like ", 'most progress was ',
                 'SMTP:RCPT host']
# The delay words as first written: one word boundary before a group.
DELAY_WORDS_GROUPED = re.compile(
    r'\b(?:has been delayed|delivery (?:is )?delayed|\(delay\)|'
    r'will (?:continue|keep) (?:to )?tr(?:y|ying)|still trying|'
    r'could not (?:be )?sen[dt] (?:the )?message for (?:the )?past|'
    r'not yet been delivered|is being retried|temporarily deferred|'
    r'delivery (?:will be )?retr(?:y|ied)|Warning: message .{0,300} delayed)',
    re.IGNORECASE)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(CONTEXT_WORDS) | st.text(max_size=6),
                max_size=10))
def test_a_gated_expression_finds_what_the_expression_finds(pieces):
    text = ''.join(pieces)
    for gated in GATED:
        found = gated.search(text)
        plain = gated.regex.search(text)
        assert (found and found.span()) == (plain and plain.span())
    grouped = DELAY_WORDS_GROUPED.search(text)
    delay = freetext._DELAY_WORDS.search(text)
    assert (delay and delay.span()) == (grouped and grouped.span())


def test_the_gate_skips_the_search_on_a_text_without_its_words():
    class Counting:
        pattern = r'undisclosed address'
        flags = 0
        searched = 0

        def search(self, text):
            self.searched += 1
            return None

    counting = Counting()
    gated = Gated(re.compile(counting.pattern))
    [(_branch, literals)] = gated.branches
    gated.branches = [(counting, literals)]
    gated.search('550 5.1.1 user unknown')
    assert counting.searched == 0
    gated.search('an Undisclosed Address here')
    assert counting.searched == 1


def _alternative(*types, plain_words='words'):
    """A report whose human part is a multipart/alternative of `types`."""
    message = MIMEMultipart('report', report_type='delivery-status')
    alternative = MIMEMultipart('alternative')
    for subtype in types:
        alternative.attach(MIMEText(
            plain_words if subtype == 'plain' else 'words', subtype))
    message.attach(alternative)
    return message


def test_only_the_plain_text_of_an_alternative_is_read():
    read = [mime_type for _part, mime_type
            in walk_notification(_alternative('html', 'plain'))]
    assert 'text/plain' in read and 'text/html' not in read


def test_an_alternative_without_plain_text_is_read_whole():
    read = [mime_type for _part, mime_type
            in walk_notification(_alternative('html', 'enriched'))]
    assert read.count('text/html') == 1 and 'text/enriched' in read


@settings(max_examples=500)
@given(st.lists(st.sampled_from(['said:', '550', '5.1.1', '<<<', 'error',
                                 ':', ' ', '\n', 'x', '2', '45', '-', '.']),
                max_size=16))
def test_the_reply_code_is_the_first_code_of_the_reply_lines(pieces):
    window = ''.join(pieces)
    assert freetext._reply_code(window) == first_smtp_code(
        '\n'.join(freetext._REPLY_LINE.findall(window)))


@settings(max_examples=500)
@given(st.text(alphabet='ab \n\t', max_size=60), st.integers(1, 12))
def test_a_compacted_text_is_its_words_cut_at_the_limit(text, limit):
    assert freetext._compact(text, limit) == ' '.join(text.split())[:limit]


CONTENT_TYPE_PIECES = ['text/plain', ';', ' ', 'charset=', '"utf-8"',
                       'us-ascii', "charset*=iso-8859-1''%E9", 'CHARSET=',
                       'Latin1', '(comment)', '"', '=', 'x']


@settings(max_examples=300)
@given(st.lists(st.sampled_from(CONTENT_TYPE_PIECES) | st.text(max_size=3),
                max_size=8))
def test_the_declared_charset_is_what_the_email_package_reads(pieces):
    part = Message()
    try:
        part['Content-Type'] = ''.join(pieces)
        expected = part.get_content_charset()
    except Exception:
        expected = None
    assert mime._declared_charset(part) == expected


# Field values as the parser gets them from bytes: ASCII, and any other
# byte escaped.
@settings(max_examples=300)
@given(st.binary(max_size=12).map(
    lambda raw: raw.decode('ascii', 'surrogateescape')))
def test_a_field_reads_as_the_email_package_gives_it(value):
    block = Message()
    block['Diagnostic-Code'] = value
    name, raw = next(block.raw_items())
    assert mime.field_text(block, name, raw) == mime.header_text(
        block['Diagnostic-Code'])


def test_the_originals_identity_is_each_headers_first_value():
    returned = Message()
    returned['Received'] = 'from a by b'
    returned['message-id'] = '<first@example.org>'
    returned['Message-ID'] = '<second@example.org>'
    returned['List-Id'] = ''
    returned['List-Id'] = '<later.example.org>'
    returned['X-BounceRules-Token'] = 'a\n  b'
    original = bounce._original_identity(returned, 'List-Id: <quoted.org>')
    assert original.message_id == '<first@example.org>'
    # An empty first List-Id is no List-Id: the quoted one stands.
    assert original.list_id == '<quoted.org>'
    assert original.token == 'a b'


LABEL_LOOK_BACK_FIRST = re.compile(
    codes._LABEL_AFTER_CODE.pattern.replace(
        r'([245](?<![\d.][245])\.', r'(?<![\d.])([245]\.'), re.IGNORECASE)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(['5.1.1', '4.2.2', '1', '.', ' ', '(',
                                 ')', 'bad destination mailbox address',
                                 'Mailbox Full', 'x']), max_size=10))
def test_labels_are_dropped_where_the_look_back_first_drops_them(pieces):
    text = ''.join(pieces)
    assert LABEL_LOOK_BACK_FIRST.pattern != codes._LABEL_AFTER_CODE.pattern
    assert codes.without_status_labels(text) == (
        LABEL_LOOK_BACK_FIRST.sub(r'\1', text) if '(' in text else text)


def test_only_short_content_types_are_kept():
    mime._charset_of_content_type.cache_clear()
    for size in (20, 10_000):
        part = Message()
        part['Content-Type'] = 'text/plain; charset=utf-8; x=' + 'y' * size
        assert mime._declared_charset(part) == 'utf-8'
    assert mime._charset_of_content_type.cache_info().currsize == 1


def test_an_empty_plain_alternative_leaves_the_others_read():
    read = [mime_type for _part, mime_type in walk_notification(
        _alternative('plain', 'html', plain_words=' \n'))]
    assert 'text/html' in read
