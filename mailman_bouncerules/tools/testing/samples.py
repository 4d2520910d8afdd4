"""Bounce messages in the styles of real MTAs, for tests and the demo.

Each builder returns bytes.  They follow the shapes the MTAs produce
(headers, wording, layout) without copying any real message.
"""

from collections.abc import Sequence

LIST_BOUNCES = 'ant-bounces@example.com'


def _message(text: str) -> bytes:
    """Drop the source indentation (8 spaces) that keeps templates readable."""
    lines = text.lstrip('\n').splitlines()
    return ('\n'.join(line[8:] if line.startswith(' ' * 8) else line
                       for line in lines) + '\n').encode('utf-8')


def rfc3464(recipient: str, status: str, diagnostic: str,
            action: str = 'failed', notice: str | None = None,
            original_id: str = '<post-1@example.com>',
            mta: str = 'mx.example.org',
            extra_recipients: Sequence[tuple[str, str, str, str]] = ()
            ) -> bytes:
    """A standard multipart/report DSN (Postfix, Sendmail, most MTAs)."""
    blocks = [(recipient, status, diagnostic, action)] + list(extra_recipients)
    per_recipient = '\n'.join(
        f'Final-Recipient: rfc822; {address}\n'
        f'Original-Recipient: rfc822;{address}\n'
        f'Action: {act}\nStatus: {code}\nRemote-MTA: dns; {mta}\n'
        f'Diagnostic-Code: smtp; {diag}\n'
        for address, code, diag, act in blocks)
    notice = notice or 'Your message could not be delivered to one or more recipients.'
    return _message(f"""
        From: MAILER-DAEMON@relay.example.com (Mail Delivery System)
        To: {LIST_BOUNCES}
        Subject: Undelivered Mail Returned to Sender
        Auto-Submitted: auto-replied
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status;
        \tboundary="BOUNDARY"

        --BOUNDARY
        Content-Type: text/plain; charset=us-ascii

        {notice}

        --BOUNDARY
        Content-Type: message/delivery-status

        Reporting-MTA: dns; relay.example.com
        Arrival-Date: Mon, 2 Nov 2026 10:00:00 +0000

        {per_recipient}
        --BOUNDARY
        Content-Type: text/rfc822-headers

        From: Anne <anne@example.com>
        To: ant@example.com
        Subject: Hello
        Message-ID: {original_id}
        List-Id: <ant.example.com>

        --BOUNDARY--
        """)


def postfix_prose(recipient: str, reply: str,
                  command: str = 'RCPT TO') -> bytes:
    """Postfix's notice without a DSN part, as some relays strip it."""
    return _message(f"""
        From: MAILER-DAEMON@relay.example.com (Mail Delivery System)
        To: {LIST_BOUNCES}
        Subject: Undelivered Mail Returned to Sender

        This is the mail system at host relay.example.com.

        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients.

        <{recipient}>: host mx.example.org[192.0.2.1] said: {reply} (in reply
            to {command} command)
        """)


def exim(recipient: str, reply: str,
         command: str = 'RCPT TO:<{0}>') -> bytes:
    command = command.format(recipient)
    return _message(f"""
        From: Mail Delivery System <Mailer-Daemon@relay.example.com>
        To: {LIST_BOUNCES}
        Subject: Mail delivery failed: returning message to sender
        X-Failed-Recipients: {recipient}
        Auto-Submitted: auto-replied

        This message was created automatically by mail delivery software.

        A message that you sent could not be delivered to one or more of its
        recipients. This is a permanent error. The following address(es) failed:

          {recipient}
            host mx.example.org [192.0.2.1]
            SMTP error from remote mail server after {command}:
            {reply}

        ------ This is a copy of the message, including all the headers. ------

        Return-path: <{LIST_BOUNCES}>
        Message-ID: <post-2@example.com>
        From: Anne <anne@example.com>
        To: ant@example.com
        Subject: Hello
        """)


def qmail(recipient: str, reply: str, progress: str | None = None) -> bytes:
    """qmail-send's notice; with `progress` ('RCPT TO', 'DATA'), the form
    a qmail-remote that tried every MX writes."""
    answer = (f'192.0.2.1 does not like recipient.\n'
              f'        Remote host said: {reply}' if progress is None else
              f'Sorry, no SMTP connection got far enough; most progress was '
              f'{progress} response; remote host 192.0.2.1 said: {reply}')
    return _message(f"""
        From: MAILER-DAEMON@relay.example.com
        To: {LIST_BOUNCES}
        Subject: failure notice

        Hi. This is the qmail-send program at relay.example.com.
        I'm afraid I wasn't able to deliver your message to the following addresses.
        This is a permanent error; I've given up. Sorry it didn't work out.

        <{recipient}>:
        {answer}
        Giving up on 192.0.2.1.

        --- Below this line is a copy of the message.

        Return-Path: <{LIST_BOUNCES}>
        Message-ID: <post-3@example.com>
        To: ant@example.com
        """)


def sendmail_transcript(recipient: str, reply: str,
                        last_command: str = 'RCPT To') -> bytes:
    return _message(f"""
        From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.com>
        To: {LIST_BOUNCES}
        Subject: Returned mail: see transcript for details

        The original message was received at Mon, 2 Nov 2026 10:00:00 +0000

           ----- The following addresses had permanent fatal errors -----
        <{recipient}>
            (reason: {reply})

           ----- Transcript of session follows -----
        ... while talking to mx.example.org.:
        >>> {last_command}:<{recipient}>
        <<< {reply}
        """)


def gmail(recipient: str, reply: str) -> bytes:
    return _message(f"""
        From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
        To: {LIST_BOUNCES}
        Subject: Delivery Status Notification (Failure)
        X-Failed-Recipients: {recipient}

        ** Message not delivered **

        There was a problem delivering your message to {recipient}.

        The response from the remote server was:
        {reply}
        """)


def exchange(recipient: str, status: str, reply: str) -> bytes:
    return _message(f"""
        From: postmaster@outlook.example.com
        To: {LIST_BOUNCES}
        Subject: Undeliverable: Hello
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="X"

        --X
        Content-Type: text/html; charset=utf-8

        <html><body><p><b>Your message to {recipient} couldn't be delivered.</b></p>
        <p>Diagnostic information for administrators:</p>
        <p>Remote Server returned '{reply}'</p></body></html>
        --X
        Content-Type: message/delivery-status

        Reporting-MTA: dns;outlook.example.com

        Final-Recipient: rfc822;{recipient}
        Action: failed
        Status: {status}
        Diagnostic-Code: smtp;{reply}

        --X--
        """)


def amazon_ses(recipient: str, bounce_type: str, status: str,
               diagnostic: str) -> bytes:
    return _message(f"""
        From: no-reply@sns.amazonaws.com
        To: {LIST_BOUNCES}
        Subject: AWS Notification Message
        Content-Type: text/plain; charset=UTF-8

        {{"notificationType":"Bounce","bounce":{{"bounceType":"{bounce_type}",
        "bounceSubType":"General",
        "bouncedRecipients":[{{"emailAddress":"{recipient}",
        "action":"failed","status":"{status}",
        "diagnosticCode":"smtp; {diagnostic}"}}]}},
        "mail":{{"messageId":"0000"}}}}
        """)


def arf(recipient: str) -> bytes:
    return _message(f"""
        From: feedback@isp.example.net
        To: abuse@example.com
        Subject: Abuse report
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=feedback-report; boundary="F"

        --F
        Content-Type: text/plain

        This is an email abuse report.

        --F
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: Example-FBL/1.0
        Version: 1
        Original-Rcpt-To: {recipient}

        --F
        Content-Type: message/rfc822

        From: anne@example.com
        To: {recipient}
        Message-ID: <post-4@example.com>
        Subject: Hello

        Hi.
        --F--
        """)


def vacation(sender: str) -> bytes:
    return _message(f"""
        From: Bart <{sender}>
        To: {LIST_BOUNCES}
        Subject: Out of office: Hello
        Auto-Submitted: auto-replied

        I am away until Monday and will read your message when I am back.
        """)


def delivered(recipient: str) -> bytes:
    return rfc3464(recipient, '2.0.0', '250 2.0.0 Ok: queued as 1234',
                   action='delivered',
                   notice='Your message was successfully delivered.')
