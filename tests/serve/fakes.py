"""Test doubles: an engine whose 'model' says what the test scripts."""

from __future__ import annotations

import json

from medgo.inference.streams import Finished
from medgo.inference.worker import QueueWorker
from medgo.serve.clinical import DISCLAIMER

VALID = {
    "diagnosis": "急性冠脉综合征",
    "differential": [{"diagnosis": "主动脉夹层", "reason": "胸痛剧烈"}],
    "next_steps": {"examinations": ["心电图", "肌钙蛋白"], "treatment": ["抗血小板"]},
    "red_flags": ["持续胸痛"],
    "disclaimer": DISCLAIMER,
}
CASE = {"chief_complaint": "胸痛3小时", "present_illness": "活动后胸骨后压榨样疼痛", "labs": "肌钙蛋白升高"}


class ScriptedEngine(QueueWorker):
    """Answers with the next scripted text: lets tests choose what 'the model' says."""

    name = "scripted"
    max_context = 4096

    def __init__(self, outputs: list[str]) -> None:
        super().__init__(max_batch=4, batch_wait_ms=0)
        self.outputs = list(outputs)
        self.seen: list[float] = []

    def render(self, prompt) -> str:
        return json.dumps(prompt, ensure_ascii=False)

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text[:200]]

    def run_batch(self, slots) -> None:
        for s in slots:
            self.seen.append(s.params.temperature)
            text = self.outputs.pop(0) if self.outputs else "无法回答"
            s.stream.piece(text)
            s.done = True
            s.stream.finish(Finished("stop", len(s.prompt_ids), len(text)))
