"""Where the tiny-model tests run: CPU + fp32 by default; ``make gpu-check`` points the same tests at a GPU.

``GUIAGENT_TEST_DEVICE`` (cpu, cuda, cuda:1 ...), ``GUIAGENT_TEST_DTYPE`` (fp32, bf16, fp16) and
``GUIAGENT_TEST_ATTN`` (sdpa, flash_attention_2; the eager tests stay eager) choose them. Exactness checks compare
logits with ``LOGIT_TOLERANCE`` of the dtype: 1e-5 in fp32; in bf16 the reference forward rounds differently
from the rolling session (other kernels, other summation order), so the bound is a bf16-sized one — still far
below the 0.2 a missing eviction mask costs.
"""

from __future__ import annotations

import os
from typing import Any

LOGIT_TOLERANCE = {"fp32": 1e-5, "float32": 1e-5, "bf16": 0.05, "bfloat16": 0.05, "fp16": 0.02, "float16": 0.02}


def dtype_under_test() -> str:
    return os.environ.get("GUIAGENT_TEST_DTYPE", "fp32")


def model_options_under_test(attn: str | None = None) -> dict[str, Any]:
    """``load_model`` keywords for the tiny model under test (``attn`` forces a kernel, e.g. eager)."""
    return {
        "device": os.environ.get("GUIAGENT_TEST_DEVICE", "cpu"),
        "dtype": dtype_under_test(),
        "attn": attn or os.environ.get("GUIAGENT_TEST_ATTN", "sdpa"),
    }


def logit_tolerance() -> float:
    return LOGIT_TOLERANCE[dtype_under_test()]
