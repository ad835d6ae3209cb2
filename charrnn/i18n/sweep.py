"""Strings of held-out perplexity, sweeps and their results."""

EN = {
    "set.val_fraction.help": "Share of the text held out for validation perplexity when "
                             "nothing follows the training slice (The Time Machine: the "
                             "tokens after max_tokens are used instead). 0: none.",
    "fig.ppl.val": "validation perplexity",
    "val.m": "Validation perplexity",
    "val.after": "Measured on the {n:,} tokens that follow the training text (held out: training never sees them).",
    "val.tail": "Measured on {n:,} of the text's last tokens, held out from training (the text has nothing after the training slice; change the share with val_fraction).",
    "val.none": "No held-out text: validation perplexity is off for this run.",
    "val.memorising": "The model is memorising its training text: perplexity {train:.2f} on it, {val:.2f} on text it has not seen. Try fewer epochs, fewer hidden units, more training text (max_tokens), or stop at the epoch where validation perplexity was lowest ({best:.2f} at epoch {epoch}).",
}

ZH = {
    "set.val_fraction.help": "当训练片段之后没有文本时，留出用于验证困惑度的文本比例"
                             "（《时间机器》使用 max_tokens 之后的词元）。0：不留出。",
    "fig.ppl.val": "验证困惑度",
    "val.m": "验证困惑度",
    "val.after": "在紧随训练文本之后的 {n:,} 个词元上测量（留出：训练从未见过）。",
    "val.tail": "在文本末尾留出的词元中的 {n:,} 个上测量，已从训练中留出（训练片段之后没有文本；可用 val_fraction 调整比例）。",
    "val.none": "没有留出文本：本次运行不计算验证困惑度。",
    "val.memorising": "模型正在记忆它的训练文本：训练文本上的困惑度为 {train:.2f}，未见过的文本上为 {val:.2f}。可以尝试：减少轮数、减少隐藏单元、增加训练文本（max_tokens），或在验证困惑度最低的那一轮停止（第 {epoch} 轮，{best:.2f}）。",
}
