"""More checker rules, each with its exact FILE:LINE:COL: message (every line checked by hand)."""

from __future__ import annotations

import pytest

from ivr.flows.checker import check_texts

CASES: list[tuple[str, dict[str, str], list[str]]] = [
    ('prompt_language_key', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    say: {en-US: Hi,'
            ' xx-YY: Yo}\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:5:22: unknown prompt language 'xx-YY'",
    ]),
    ('prompt_text_type', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    say: {en-US: 5}'
            '\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:5:18: the en-US text of 'say' must be text, not a whole number",
    ]),
    ('prompt_type', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    say: [hi]\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ("callflows/main.yaml:5:10: 'say' must be text or a mapping of language to text, not a "
         "list"),
    ]),
    ('prompt_empty', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    say: \'  \'\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:5:10: 'say' is empty",
    ]),
    ('hangup_false', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    hangup: false\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:5:13: 'hangup' must be text or true, not false",
    ]),
    ('http_json_template', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    http: https://cr'
            'm.example.com/x\n    method: POST\n    json: {who: \'{{ caller.number }\', tags: '
            '[\'{{ vars.x }}\', 1]}\n    next: b\n  b:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:7:17: template syntax error: unexpected '}' (line 1 of the text)",
    ]),
    ('http_bad_url', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    http: ftp://crm.'
            'example.com/x\n    error: b\n  b:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:5:11: 'ftp://crm.example.com/x' is not an http(s) URL",
    ]),
    ('http_method_headers_timeout', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    http: https://cr'
            'm.example.com/x\n    method: FETCH\n    headers: {X-Id: 5}\n    timeout: 10\n    '
            'into: \'my var\'\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:6:13: 'method' must be one of GET, POST, PUT, PATCH, DELETE",
        "callflows/main.yaml:7:21: header 'X-Id' must be text, not a whole number",
        ("callflows/main.yaml:8:14: 'timeout' of an http step must be more than 0 and at most 5"
         " seconds, not 10"),
        ("callflows/main.yaml:9:11: 'into' must be a variable name (letters, digits, _), not 'm"
         "y var'"),
    ]),
    ('hours_range_type', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            'office:\n  timezone: UTC\n  open: {mon: 9}\n'
        ),
    }, [
        ('callflows/hours.yaml:3:15: hours must be text like "09:00-17:30" or a list of them, n'
         'ot a whole number'),
    ]),
    ('escalate_order', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales:\n  escalate:\n    - {after: 60}\n    - {after: 30, skills: [x]}\n    - 5'
            '\n    - {min_level: 2}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ("callflows/queues.yaml:4:15: escalate entries must come in order of 'after' (30 is not"
         " after 60)"),
        ('callflows/queues.yaml:5:7: an escalate entry must be a mapping like {after: 90, skill'
         's: []}, not a whole number'),
        "callflows/queues.yaml:6:7: escalate entry has no 'after' (seconds of waiting)",
    ]),
    ('queue_phone_number_int', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    dial: 1500555000'
            '6\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ('callflows/main.yaml:5:11: \'dial\' must be quoted text ("+15005550006"): YAML reads +'
         '15005550006 as a number'),
    ]),
    ('media_path', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    play: ../secret.'
            'mp3\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ("callflows/main.yaml:5:11: '../secret.mp3' must be a file name in recordings/ or an ht"
         "tp(s) URL"),
    ]),
    ('step_name_bad', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a.b:\n    hangup: true'
            '\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ("callflows/main.yaml:4:3: step name 'a.b' must be a word (letters, digits, _ or -; no "
         "dots)"),
    ]),
    ('step_not_mapping', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a: hello\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ("callflows/main.yaml:4:6: step 'a' must be a mapping with one action (say, menu, queue"
         ", ...), not text"),
    ]),
    ('branch_items', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    branch:\n      -'
            ' hi\n      - {goto: b}\n      - {if: 5, goto: b}\n      - {if: \'x\'}\n    else: '
            'b\n  b:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        'callflows/main.yaml:6:9: a branch must be {if: CONDITION, goto: STEP}, not text',
        "callflows/main.yaml:7:9: branch has no 'if' condition",
        "callflows/main.yaml:8:14: 'if' must be a condition, not a whole number",
        "callflows/main.yaml:9:9: branch has no 'goto' step",
        ("callflows/main.yaml:9:14: unknown name 'x' in template (templates see vars, caller, c"
         "all, input, now)"),
    ]),
    ('record_box', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    record: true'
            '\n    box: \'front desk\'\n    max_length: 0\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ("callflows/main.yaml:6:10: 'box' must be a word (letters, digits, _ or -), not 'front "
         "desk'"),
        "callflows/main.yaml:7:17: 'max_length' must be between 1 and 14400, not 0",
    ]),
    ('message_to', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    message: hi\n   '
            ' to: \'whatsapp:+15005550006\'\n    next: b\n  b:\n    message: hi\n    to: \'555'
            '\'\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:10:9: '555' is not an E.164 phone number like +15005550006",
    ]),
    ('dial_list', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    dial: [\'+150055'
            '50006\', 5, \'{{ vars.x }}\', \'sip:bad\']\n    caller_id: \'+1\'\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ('callflows/main.yaml:5:28: numbers must be quoted text ("+5"): YAML reads +5 as a numb'
         'er'),
        ("callflows/main.yaml:5:47: 'sip:bad' is not a SIP address like sip:alice@example.sip.t"
         "wilio.com"),
        "callflows/main.yaml:6:16: '+1' is not an E.164 phone number like +15005550006",
    ]),
    ('words', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    menu: hi\n    wo'
            'rds: {b: [yes, 3], c: yes, 7: [x]}\n  b:\n    hangup: true\n  c:\n    hangup: tru'
            'e\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:6:29: word 'yes' already leads to 'b'",
        "callflows/main.yaml:6:34: 'words' keys must be step names, not a whole number",
    ]),
    ('vars_names', {
        'main.yaml': (
            'numbers: ["*"]\nvars: {\'my var\': 1}\nsteps:\n  a:\n    set: {\'bad name\': 1}'
            '\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:2:8: variable name 'my var' must be letters, digits and _",
        "callflows/main.yaml:5:11: variable name 'bad name' must be letters, digits and _",
    ]),
    ('on_error', {
        'main.yaml': (
            'numbers: ["*"]\non_error: {say: hi, dial: "123", text: x}\nsteps:\n  a:\n    hang'
            'up: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:2:27: '123' is not an E.164 phone number like +15005550006",
        "callflows/main.yaml:2:34: unknown key 'text' in on_error",
    ]),
    ('agents_misc', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
        'agents.yaml': (
            "1bad: {phone: '+15005550101'}\nann: x\nbob: {name: Bob, skills: [sales]}\n"
        ),
    }, [
        "callflows/agents.yaml:1:1: agent id '1bad' must be a word (letters, digits, _ or -)",
        "callflows/agents.yaml:2:6: agent 'ann' must be a mapping, not text",
        "callflows/agents.yaml:3:1: agent 'bob' has no 'phone' (E.164 or sip:)",
        ("callflows/agents.yaml:3:26: 'skills' must be a mapping of skill to level 1-5, not a l"
         "ist"),
    ]),
    ('queues_misc', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    hangup: true\n'
        ),
        'queues.yaml': (
            "q1: [x]\nq2:\n  announce: {every: 5, position: yes}\n  ring_timeout: 1\n  callbac"
            "k: 'yes'\n  hold_music: music/hold.mp3\n  skills: sales\n"
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/queues.yaml:1:5: queue 'q1' must be a mapping, not a list",
        "callflows/queues.yaml:3:21: 'every' must be between 10 and 3600, not 5",
        "callflows/queues.yaml:3:34: 'position' must be true or false, not text",
        "callflows/queues.yaml:4:17: 'ring_timeout' must be between 5 and 600, not 1",
        "callflows/queues.yaml:5:13: 'callback' must be true or false, not text",
        ("callflows/queues.yaml:6:15: 'music/hold.mp3' must be a file name in recordings/ or an"
         " http(s) URL"),
        "callflows/queues.yaml:7:11: 'skills' must be a list, not text",
    ]),
    ('hours_misc', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "o1: x\no2:\n  open: {mon: '09:00-10:00'}\n  closed: 2026-12-24\no3:\n  timezone: "
            "UTC\n"
        ),
    }, [
        "callflows/hours.yaml:1:5: schedule 'o1' must be a mapping, not text",
        ("callflows/hours.yaml:2:1: schedule 'o2' has no 'timezone' (for example America/New_Yo"
         "rk)"),
        "callflows/hours.yaml:4:11: 'closed' must be a list of dates, not a date",
    ]),
    ('cross_channel', {
        'main.yaml': (
            'numbers: ["*"]\nsteps:\n  a:\n    goto: text.b\n'
        ),
        'text.yaml': (
            "channels: [sms]\nnumbers: ['*']\nsteps:\n  b:\n    hangup: true\n"
        ),
    }, [
        "callflows/main.yaml:4:11: 'goto' leads to flow 'text', which answers sms, not voice",
    ]),
    ('steps_type', {
        'main.yaml': (
            'numbers: ["*"]\nsteps: [a, b]\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:2:8: 'steps' must be a mapping of step names, not a list",
    ]),
    ('steps_empty', {
        'main.yaml': (
            'numbers: ["*"]\nsteps: {}\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        "callflows/main.yaml:2:8: flow 'main' has no steps",
    ]),
    ('reserved_list', {
        'main.yaml': (
            'numbers: ["*"]\nhttp_hosts: [crm.example.com]\nsteps:\n  a:\n    hangup: true\n'
        ),
        'queues.yaml': (
            '- a\n- b\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        'callflows/queues.yaml:1:1: queues.yaml must be a mapping, not a list',
    ]),
    ('numbers_type', {
        'main.yaml': (
            'numbers: "*"\nsteps:\n  a:\n    hangup: true\n'
        ),
        'queues.yaml': (
            'sales: {}\n'
        ),
        'hours.yaml': (
            "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
        ),
    }, [
        ('callflows/main.yaml:1:1: no default flow: add "*" to the numbers of the flow that ans'
         'wers every other number'),
        "callflows/main.yaml:1:10: 'numbers' must be a list, not text",
    ]),
]


@pytest.mark.parametrize(("name", "files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, files: dict[str, str], expected: list[str]) -> None:
    callflows, problems = check_texts(files)
    assert [str(p) for p in problems if p.is_error] == expected
    assert callflows is None
