"""Chat-template helpers: render a conversation whole (re-prefill) or as per-message increments (rolling).

A rolling session appends each turn's text exactly as the full template would have rendered it, so a
rolling run and a from-scratch prefill of the same conversation see the same tokens at the same positions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.errors import SessionError

Message = dict[str, Any]


def message_images(messages: list[Message]) -> list[Image.Image]:
    """The images of a conversation in prompt order (content items of type ``image``: a PIL image or a path)."""
    images = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str) or content is None:
            continue
        for item in content:
            if item.get("type") == "image" or "image" in item:
                images.append(as_image(item.get("image")))
    return images


def as_image(value: Any) -> Image.Image:
    if isinstance(value, Image.Image):
        return value.convert("RGB")
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.exists():
            raise SessionError(f"Image file '{path}' does not exist.", "Check the path in the message.")
        return Image.open(path).convert("RGB")
    raise SessionError(
        f"An image item holds {type(value).__name__}, not an image.",
        "Put a PIL image or a file path under the item's 'image' key.",
    )


def render(processor: Any, messages: list[Message], *, add_generation_prompt: bool) -> str:
    return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def turn_fragments(processor: Any, messages: list[Message]) -> list[tuple[str, list[Image.Image]]]:
    """Split a conversation into one (text, images) increment per message.

    Increment k is what the template adds when message k joins, so the texts concatenate to the full
    prompt. A message followed by an assistant turn ends with the generation prompt (``<|im_start|>assistant``)
    and the assistant increment is the model's answer; the last increment adds the generation prompt.
    """
    fragments, rendered = [], ""
    for k in range(1, len(messages) + 1):
        answer_follows = k == len(messages) or messages[k]["role"] == "assistant"
        opens_answer = answer_follows and messages[k - 1]["role"] != "assistant"
        full = render(processor, messages[:k], add_generation_prompt=opens_answer)
        if not full.startswith(rendered):
            raise SessionError(
                "The chat template is not append-only for this conversation, so it cannot be fed turn by turn.",
                "Use prefill_messages() (re-prefill) for this template.",
            )
        fragments.append((full[len(rendered) :], message_images(messages[k - 1 : k])))
        rendered = full
    return fragments


def screenshot_turns(
    processor: Any, steps: int, *, system: str, task: str, prompt: str = "", answer: str = ""
) -> list[tuple[str, str]]:
    """A synthetic screenshot run as the model's own chat template renders it: per step, (the user turn with one
    image placeholder, the answer turn that follows). Step 0's user turn carries the system prompt and the task.

    Benchmarks and demos use it so every family gets its own framing (Qwen's ``<|im_start|>``, OpenCUA's media
    tokens); with ``answer=""`` the answer turn is just the template's end-of-turn text."""
    messages: list[Message] = [{"role": "system", "content": system}]
    for step in range(steps):
        content: list[dict[str, Any]] = [{"type": "text", "text": task}] if step == 0 and task else []
        content.append({"type": "image", "image": Image.new("RGB", (28, 28))})  # only its placeholder is rendered
        if prompt:
            content.append({"type": "text", "text": prompt})
        messages += [{"role": "user", "content": content}, {"role": "assistant", "content": answer}]
    texts = [text for text, _ in turn_fragments(processor, messages)]
    return [((texts[0] if step == 0 else "") + texts[1 + 2 * step], texts[2 + 2 * step]) for step in range(steps)]
