"""Reconciliation: check every binding a platform holds against the registry and say what to do.

A platform exports its bindings (``accountRef, phoneNumber, category, boundAt, lastActiveAt``
and optionally ``factors``) and gets back one action per binding, decided by the guard's own
policies (:mod:`numguard.domain.guard`)::

    from datetime import date
    from pathlib import Path
    from numguard.guard.reconcile import HttpBulkChecker, reconcile

    with HttpBulkChecker("https://registry.example", client_id="bank-1",
                         client_secret=secret) as registry:
        registry.connect()
        report = reconcile(Path("bindings.csv"), registry, Path("actions.csv"),
                           as_of=date.today())
    print(report.by_action())  # {'unbind': 12, 'hibernate': 3, 'step-up-next-login': 40, ...}

This subpackage uses NumPy (the guard itself does not): ``import numguard.guard`` stays light.
``docs/guard.md`` describes the files and the decisions.
"""

from numguard.guard.reconcile.bindings import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    BindingsBlock,
    NotABindingsFile,
    Reject,
)
from numguard.guard.reconcile.registry import (
    BulkChecker,
    BulkReply,
    HttpBulkChecker,
    RegistryRefused,
    RegistryUnreachable,
)
from numguard.guard.reconcile.run import (
    ACTIONS_COLUMNS,
    REJECTS_COLUMNS,
    OnUnreachable,
    ReconcileReport,
    reconcile,
)
from numguard.guard.reconcile.table import Cell, DecisionTable, ReconcileAction, action_for

__all__ = [
    "ACTIONS_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REJECTS_COLUMNS",
    "REQUIRED_COLUMNS",
    "BindingsBlock",
    "BulkChecker",
    "BulkReply",
    "Cell",
    "DecisionTable",
    "HttpBulkChecker",
    "NotABindingsFile",
    "OnUnreachable",
    "ReconcileAction",
    "ReconcileReport",
    "RegistryRefused",
    "RegistryUnreachable",
    "Reject",
    "action_for",
    "reconcile",
]
