"""Events exactly as the lab guide's platform sends them (its fields only)."""

from __future__ import annotations

LAB_GUIDE_TRANSACTION = {
    "transaction_id": "T-1",
    "timestamp": "2026-01-01T10:00:00Z",
    "account_id": "ACC-1",
    "amount": 12.5,
    "currency": "USD",
    "transaction_type": "purchase",
}
LAB_GUIDE_CLAIM = {
    "claim_id": "C-1",
    "timestamp": "2026-01-01T10:00:00Z",
    "policy_number": "POL-1",
    "claim_amount": 900.0,
    "claim_type": "auto",
    "claim_status": "submitted",
    "customer_id": "CUST-1",
    "incident_date": "2025-12-30",
}
