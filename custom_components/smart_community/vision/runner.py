"""Run a LiteRT (TFLite) model on the CPU, one call at a time per model.

LiteRT's ``ai_edge_litert`` has glibc wheels only; ``tflite_runtime`` is the
older name of the same interpreter and still exists on a few platforms. The
runner takes whichever is installed and says clearly when neither is. Calls
block, so the caller runs them in a worker thread, never on an event loop.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import importlib
from pathlib import Path
import threading
import time
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

# Module paths of the interpreter, in order of preference.
INTERPRETER_MODULES: Final = (
    "ai_edge_litert.interpreter",
    "tflite_runtime.interpreter",
)


class RuntimeUnavailableError(Exception):
    """Neither LiteRT nor tflite-runtime can be imported on this machine."""


class ModelLoadError(Exception):
    """A model file is missing, unreadable or not a TFLite model."""


class ModelContractError(ModelLoadError):
    """A model loads but its inputs or outputs are not the ones expected."""


class Interpreter(Protocol):
    """The part of the LiteRT interpreter the runner uses."""

    def allocate_tensors(self) -> None:
        """Plan memory for the tensors."""

    def get_input_details(self) -> list[dict[str, Any]]:
        """Describe the inputs."""

    def get_output_details(self) -> list[dict[str, Any]]:
        """Describe the outputs."""

    def resize_tensor_input(self, index: int, shape: Sequence[int]) -> None:
        """Change an input's shape before allocation."""

    def set_tensor(self, index: int, value: npt.NDArray[Any]) -> None:
        """Copy an input in."""

    def get_tensor(self, index: int) -> npt.NDArray[Any]:
        """Copy an output out."""

    def invoke(self) -> None:
        """Run the model."""

    def reset_all_variables(self) -> None:
        """Clear state kept between calls (recurrent layers)."""


type InterpreterFactory = Callable[..., Interpreter]


def interpreter_factory() -> InterpreterFactory:
    """Return the installed interpreter class, LiteRT first."""
    missing: list[str] = []
    for module_name in INTERPRETER_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            missing.append(f"{module_name}: {err}")
            continue
        factory: InterpreterFactory = module.Interpreter
        return factory
    raise RuntimeUnavailableError(
        "no TFLite runtime: install ai-edge-litert (glibc Linux, macOS) ("
        + "; ".join(missing)
        + ")"
    )


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One input or output of a model."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


class ModelRunner:
    """One model in one interpreter; ``run`` is thread-safe and blocking.

    The time spent inside ``invoke`` is added up, so a pipeline can be compared
    with the raw cost of its models.
    """

    def __init__(
        self,
        path: Path,
        *,
        threads: int = 2,
        input_shapes: Sequence[Sequence[int]] | None = None,
        factory: InterpreterFactory | None = None,
    ) -> None:
        """Load a model; ``input_shapes`` resizes inputs (e.g. a fixed batch)."""
        make = factory or interpreter_factory()
        self.path = path
        if not path.is_file():
            raise ModelLoadError(f"model file {path} does not exist")
        try:
            interpreter = make(model_path=str(path), num_threads=threads)
            if input_shapes is not None:
                for detail, shape in zip(
                    interpreter.get_input_details(), input_shapes, strict=True
                ):
                    interpreter.resize_tensor_input(detail["index"], list(shape))
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ModelLoadError(f"cannot load {path.name}: {err}") from err
        self._interpreter = interpreter
        self.inputs = tuple(_spec(detail) for detail in interpreter.get_input_details())
        self.outputs = tuple(
            _spec(detail) for detail in interpreter.get_output_details()
        )
        self._lock = threading.Lock()
        self.invocations = 0
        self.invoke_seconds = 0.0

    def run(
        self, *arrays: npt.NDArray[Any], reset_state: bool = False
    ) -> list[npt.NDArray[Any]]:
        """Run the model on its inputs, in order; return copies of its outputs.

        ``reset_state`` clears recurrent state first: a converted LSTM keeps its
        hidden state between calls and would otherwise drift from call to call.
        """
        if len(arrays) != len(self.inputs):
            raise ValueError(
                f"{self.path.name} takes {len(self.inputs)} inputs, not {len(arrays)}"
            )
        interpreter = self._interpreter
        with self._lock:
            if reset_state:
                interpreter.reset_all_variables()
            for spec, array in zip(self.inputs, arrays, strict=True):
                interpreter.set_tensor(spec.index, array.astype(spec.dtype, copy=False))
            started = time.perf_counter()
            interpreter.invoke()
            self.invoke_seconds += time.perf_counter() - started
            self.invocations += 1
            # get_tensor copies already (LiteRT and tflite-runtime alike).
            return [interpreter.get_tensor(spec.index) for spec in self.outputs]

    def expect(
        self,
        inputs: Sequence[tuple[int, ...]],
        outputs: Sequence[tuple[int, ...]],
    ) -> None:
        """Refuse a model whose tensor shapes are not the ones the code decodes."""
        found_inputs = [spec.shape for spec in self.inputs]
        found_outputs = sorted(spec.shape for spec in self.outputs)
        if found_inputs != list(inputs) or found_outputs != sorted(outputs):
            raise ModelContractError(
                f"{self.path.name} has inputs {found_inputs} and outputs "
                f"{found_outputs}; expected {list(inputs)} and {sorted(outputs)}"
            )

    def output_by_shape(
        self, outputs: Sequence[npt.NDArray[Any]], last_dim: int
    ) -> npt.NDArray[Any]:
        """Pick the output whose last dimension is ``last_dim``.

        Converters do not keep output order; shapes are what stays stable.
        """
        matches = [array for array in outputs if array.shape[-1] == last_dim]
        if len(matches) != 1:
            raise ModelContractError(
                f"{self.path.name}: {len(matches)} outputs end in {last_dim}"
            )
        return matches[0]


def _spec(detail: dict[str, Any]) -> TensorSpec:
    """Describe a tensor from the interpreter's details."""
    return TensorSpec(
        index=int(detail["index"]),
        name=str(detail["name"]),
        shape=tuple(int(size) for size in detail["shape"]),
        dtype=np.dtype(detail["dtype"]),
    )
