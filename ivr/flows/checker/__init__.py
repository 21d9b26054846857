"""The checker of the call-flow folder: every problem, with the place it was written.

`check_folder(path)` reads every `*.yaml` file of the folder, checks it against
the call-flow language (documented for admins in docs/callflows.md) and, when
there is no error, builds the `Callflows` the engine and router use. Warnings
never refuse a folder; errors always do.

One module per concern:

- `values`: single values (types, ranges, names, phone numbers, prompts,
  templates, languages, voices, URLs); its `Values` is the toolkit that step
  specs (`ivr.flows.steps`) check their settings with;
- `reserved`: hours.yaml, agents.yaml, queues.yaml;
- `flows`: a flow's own keys, and each step through its spec;
- `reach`: ways out that lead nowhere, steps never reached, loops with no way out;
- `folder`: the entry points: read the files, run the parts in order, build the model.
"""

from __future__ import annotations

from ivr.flows.checker.flows import FLOW_KEYS
from ivr.flows.checker.folder import check_folder, check_texts
from ivr.flows.checker.reach import strongly_connected
from ivr.flows.checker.reserved import RESERVED, STRATEGIES
from ivr.flows.checker.values import LANGUAGES, did_you_mean, phone_problem, type_name
from ivr.flows.steps import SETTINGS
from ivr.flows.yamlsrc import Problem

__all__ = [
    "FLOW_KEYS", "LANGUAGES", "Problem", "RESERVED", "SETTINGS", "STRATEGIES", "check_folder",
    "check_texts", "did_you_mean", "phone_problem", "strongly_connected", "type_name",
]
