"""Strings shared by several areas (status names, units)."""

EN = {
    "status.queued": "queued",
    "status.running": "running",
    "status.paused": "paused",
    "status.finished": "finished",
    "status.stopped": "stopped",
    "status.diverged": "diverged",
    "status.failed": "failed",
}

ZH = {
    "status.queued": "排队中",
    "status.running": "训练中",
    "status.paused": "已暂停",
    "status.finished": "已完成",
    "status.stopped": "已停止",
    "status.diverged": "已发散",
    "status.failed": "失败",
}
