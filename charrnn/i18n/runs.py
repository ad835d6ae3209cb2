"""Strings of a run's life: resume and restart, the questions before Stop and
Delete, checkpoints, unreadable run folders."""

EN = {
    "app.ctl.continue": "Resume from step {step}",
    "app.ctl.continue.help": "Go on training from the run's last checkpoint: the same "
                             "settings, weights and data order, as if it had never stopped.",
    "app.ctl.restart": "Restart with its settings",
    "app.ctl.restart.help": "A new run from the start with exactly this run's settings.",
    "app.confirm.delete": "Delete the run “{name}” and all its files? This cannot be undone.",
    "app.confirm.delete.yes": "Yes, delete it",
    "app.confirm.stop": "Stop “{name}”? It has trained for more than a minute; a stopped run "
                        "can be resumed from where it stopped.",
    "app.confirm.stop.yes": "Yes, stop it",
    "app.confirm.cancel": "Cancel",
    "app.ckpt.failed": "The run's last checkpoint could not be written ({error}); it trains on.",
    "app.problems.title": "Run folders that cannot be read",
    "app.problems.delete": "Delete this folder",
}

ZH = {
    "app.ctl.continue": "从第 {step} 步继续",
    "app.ctl.continue.help": "从这次运行最后一个检查点继续训练：相同的设置、权重和数据顺序，就像从未停止过一样。",
    "app.ctl.restart": "用相同设置重新开始",
    "app.ctl.restart.help": "用与这次运行完全相同的设置，从头开始一次新的运行。",
    "app.confirm.delete": "删除运行“{name}”及其全部文件？此操作无法撤销。",
    "app.confirm.delete.yes": "确定删除",
    "app.confirm.stop": "停止“{name}”？它已经训练了一分钟以上；停止的运行可以从停止的地方继续。",
    "app.confirm.stop.yes": "确定停止",
    "app.confirm.cancel": "取消",
    "app.ckpt.failed": "这次运行的最新检查点无法写入（{error}）；训练继续进行。",
    "app.problems.title": "无法读取的运行文件夹",
    "app.problems.delete": "删除这个文件夹",
}
