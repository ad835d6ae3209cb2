"""Strings shared by several areas (status names, units)."""

EN = {
    "status.queued": "queued",
    "status.running": "running",
    "status.paused": "paused",
    "status.finished": "finished",
    "status.stopped": "stopped",
    "status.diverged": "diverged",
    "status.failed": "failed",
    "diverge.loss_nan": "Diverged at step {step}, epoch {epoch}: the loss became {value}.",
    "diverge.grad_nan": "Diverged at step {step}, epoch {epoch}: the gradient norm became {value}.",
    "diverge.loss_high": "Diverged at step {step}, epoch {epoch}: the loss stayed above "
                         "{factor:g} × ln|V| = {limit:.1f} (a uniform guess scores {uniform:.2f}) "
                         "for {n} steps, last {value:.3g}.",
    "diverge.ppl_inf": "Diverged in epoch {epoch} (step {step}): the perplexity overflowed to "
                       "infinity.",
    "stop.at_step": "Stopped at step {step}.",
    "stop.queued": "Stopped before it started.",
    "stop.server": "The server stopped while this run trained; it ends where its files do.",
    "fail.worker": "The training process ended unexpectedly (exit code {code}); the charts "
                   "show everything up to its last report.",
}

ZH = {
    "status.queued": "排队中",
    "status.running": "训练中",
    "status.paused": "已暂停",
    "status.finished": "已完成",
    "status.stopped": "已停止",
    "status.diverged": "已发散",
    "status.failed": "失败",
    "diverge.loss_nan": "在第 {epoch} 个迭代周期的第 {step} 步发散：损失变成了 {value}。",
    "diverge.grad_nan": "在第 {epoch} 个迭代周期的第 {step} 步发散：梯度范数变成了 {value}。",
    "diverge.loss_high": "在第 {epoch} 个迭代周期的第 {step} 步发散：损失连续 {n} 步高于 "
                         "{factor:g} × ln|V| = {limit:.1f}（均匀猜测的损失为 {uniform:.2f}），"
                         "最后一步为 {value:.3g}。",
    "diverge.ppl_inf": "在第 {epoch} 个迭代周期（第 {step} 步）发散：困惑度溢出为无穷大。",
    "stop.at_step": "在第 {step} 步停止。",
    "stop.queued": "在开始之前就被停止了。",
    "stop.server": "这次运行训练时服务器停止了；它停在文件保存的地方。",
    "fail.worker": "训练进程意外退出（退出码 {code}）；图表显示它最后一次报告之前的全部内容。",
}
