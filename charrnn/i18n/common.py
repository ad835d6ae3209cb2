"""Strings shared by several areas (status names, units)."""

EN = {
    "status.queued": "queued",
    "status.running": "running",
    "status.paused": "paused",
    "status.finished": "finished",
    "status.stopped": "stopped",
    "status.diverged": "diverged",
    "status.failed": "failed",
    "status.interrupted": "interrupted",
    "diverge.loss_nan": "Diverged at step {step}, epoch {epoch}: the loss became {value}.",
    "diverge.grad_nan": "Diverged at step {step}, epoch {epoch}: the gradient norm became {value}.",
    "diverge.loss_high": "Diverged at step {step}, epoch {epoch}: the loss stayed above "
                         "{factor:g} × ln|V| = {limit:.1f} (a uniform guess scores {uniform:.2f}) "
                         "for {n} steps, last {value:.3g}.",
    "diverge.ppl_inf": "Diverged in epoch {epoch} (step {step}): the perplexity overflowed to "
                       "infinity.",
    "stop.at_step": "Stopped at step {step}.",
    "stop.queued": "Stopped before it started.",
    "stop.server": "Interrupted: the server stopped while this run trained. It is kept as its "
                   "last checkpoint saved it, at step {step} (epoch {epoch}, {at}); resume it "
                   "from there or restart it with its settings.",
    "stop.worker": "Interrupted: the training process ended unexpectedly (exit code {code}). "
                   "The run is kept as its last checkpoint saved it, at step {step} (epoch "
                   "{epoch}, {at}); resume it from there or restart it with its settings.",
    "corpus.d2l_empty": "No text is left after d2l's preprocessing (it keeps only the letters "
                        "A-Z); choose raw tokens for this text.",
    "corpus.empty": "The corpus is empty.",
    "corpus.one_char": "The corpus has only one distinct character ({only}): there is nothing "
                       "to predict; use a text with at least two different characters.",
    "corpus.one_char_d2l": "The corpus has only one distinct character ({only}): there is "
                           "nothing to predict; use a text with at least two different "
                           "characters. d2l's preprocessing keeps only the letters A-Z; choose "
                           "raw tokens to keep every character.",
    "corpus.too_short": "The corpus has {n:,} tokens, too short for one minibatch: "
                        "batch_size × num_steps + num_steps + 1 = {need:,} tokens are needed.",
    "corpus.too_large": "{name} is too large ({mb:.1f} MB); the limit is {limit:.0f} MB.",
    "corpus.binary": "{name} looks binary (it contains NUL bytes); upload a UTF-8 text file.",
    "corpus.not_utf8": "{name} is not UTF-8 text (invalid byte at position {pos}); save it as "
                       "UTF-8 and try again.",
    "corpus.blank": "{name} is empty (only white space).",
    "step.eager.device": "Each step runs op by op: CUDA graphs need a CUDA GPU.",
    "step.eager.off": "Each step runs op by op on the GPU: CUDA graphs are switched off "
                      "(CHARRNN_CUDA_GRAPH=0).",
    "step.eager.model": "Each step runs op by op on the GPU: only the scratch model's step is "
                        "captured as a CUDA graph.",
    "step.eager.no_detach": "Each step runs op by op on the GPU: without detaching, every "
                            "minibatch's step is longer than the one before, so no single CUDA "
                            "graph fits it.",
    "step.eager.failed": "Each step runs op by op on the GPU: capturing it as a CUDA graph "
                         "failed ({error}).",
}

ZH = {
    "status.queued": "排队中",
    "status.running": "训练中",
    "status.paused": "已暂停",
    "status.finished": "已完成",
    "status.stopped": "已停止",
    "status.diverged": "已发散",
    "status.failed": "失败",
    "status.interrupted": "已中断",
    "diverge.loss_nan": "在第 {epoch} 个迭代周期的第 {step} 步发散：损失变成了 {value}。",
    "diverge.grad_nan": "在第 {epoch} 个迭代周期的第 {step} 步发散：梯度范数变成了 {value}。",
    "diverge.loss_high": "在第 {epoch} 个迭代周期的第 {step} 步发散：损失连续 {n} 步高于 "
                         "{factor:g} × ln|V| = {limit:.1f}（均匀猜测的损失为 {uniform:.2f}），"
                         "最后一步为 {value:.3g}。",
    "diverge.ppl_inf": "在第 {epoch} 个迭代周期（第 {step} 步）发散：困惑度溢出为无穷大。",
    "stop.at_step": "在第 {step} 步停止。",
    "stop.queued": "在开始之前就被停止了。",
    "stop.server": "已中断：这次运行训练时服务器停止了。运行保留在最后一个检查点：第 {step} 步"
                   "（第 {epoch} 个迭代周期，{at}）；可以从那里继续，或用相同的设置重新开始。",
    "stop.worker": "已中断：训练进程意外退出（退出码 {code}）。运行保留在最后一个检查点：第 {step} "
                   "步（第 {epoch} 个迭代周期，{at}）；可以从那里继续，或用相同的设置重新开始。",
    "corpus.d2l_empty": "经过 d2l 的预处理（只保留字母 A-Z）后没有剩下任何文本；请为这段文本选择 raw "
                        "词元。",
    "corpus.empty": "语料为空。",
    "corpus.one_char": "语料中只有一种字符（{only}）：没有什么可预测的；请使用至少包含两种不同字符"
                       "的文本。",
    "corpus.one_char_d2l": "语料中只有一种字符（{only}）：没有什么可预测的；请使用至少包含两种不同"
                           "字符的文本。d2l 的预处理只保留字母 A-Z；选择 raw 词元可以保留每个字符。",
    "corpus.too_short": "语料只有 {n:,} 个词元，不够一个小批量：需要 batch_size × num_steps + "
                        "num_steps + 1 = {need:,} 个词元。",
    "corpus.too_large": "{name} 太大（{mb:.1f} MB）；上限是 {limit:.0f} MB。",
    "corpus.binary": "{name} 看起来是二进制文件（包含 NUL 字节）；请上传 UTF-8 文本文件。",
    "corpus.not_utf8": "{name} 不是 UTF-8 文本（第 {pos} 个字节无效）；请另存为 UTF-8 后重试。",
    "corpus.blank": "{name} 是空的（只有空白字符）。",
    "step.eager.device": "每一步逐个算子执行：CUDA 图需要 CUDA GPU。",
    "step.eager.off": "每一步在 GPU 上逐个算子执行：CUDA 图已关闭（CHARRNN_CUDA_GRAPH=0）。",
    "step.eager.model": "每一步在 GPU 上逐个算子执行：只有从零实现的模型的训练步会被捕获为 CUDA 图。",
    "step.eager.no_detach": "每一步在 GPU 上逐个算子执行：不分离状态时，每个小批量的训练步都比前一个"
                            "更长，没有一个 CUDA 图能容纳它。",
    "step.eager.failed": "每一步在 GPU 上逐个算子执行：把它捕获为 CUDA 图失败了（{error}）。",
}
