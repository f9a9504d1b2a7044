"""A per-run measurement hook for tests/test_sweep.py (hooks are named "module:function")."""


def count_parameters(model, model_cfg, train_cfg) -> dict:
    return {
        "metrics": {"hook_params": sum(p.numel() for p in model.parameters())},
        "hook_note": "measured",
    }
