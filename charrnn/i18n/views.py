"""Strings of the views that teach: the hidden state's structure, the units that
track a feature, theta from the run's gradients, Pascanu's cliff."""

EN = {
    # unit order
    "views.order": "Unit order",
    "views.order.similar": "similar units together",
    "views.order.index": "index order",
    "views.order.help": "Similar together: units whose activations correlate over the kept "
                        "snapshots sit next to each other (average-linkage clustering on "
                        "1 − correlation). The order is fixed for the run, so frames compare.",
    "views.order.basis": "Order and 2-D axes computed from {n} kept snapshots (steps {a}–{b}); "
                         "fixed for this run{more}.",
    "views.order.more": " until the run has twice as many",
    # PCA
    "views.pca": "The state in two dimensions",
    "views.pca.help": "Each point is H_t after reading its character, projected on the two "
                      "principal axes of all kept states of this run (the axes stay fixed). "
                      "A line joins one batch row's time steps. Press ▶ or drag the slider to "
                      "go through training.",
    "views.pca.title": "H_t on the run's first two principal axes",
    "views.pca.axis": "PC{k} ({share:.0f}% of the variance)",
    "views.pca.frame": "training step",
    "views.pca.where": "Batch row {lane}'s points lie {spread:.2f} from their centre on average "
                       "at step {step} (at step {first}: {spread0:.2f}): the state moves further "
                       "from character to character as it learns.",
    # saturation
    "views.sat": "Saturated units",
    "views.sat.help": "Share of activations with |h| > {th}: there tanh's slope 1 − h² is below "
                      "{slope:.2f}, so little gradient passes through that unit at that step.",
    "views.sat.relu": "ReLU units do not saturate at ±1; this view is for bounded activations.",
    "views.sat.title": "Share of |h| > {th} in each kept snapshot",
    "views.sat.name": "|h| > {th}",
    "views.sat.y": "share of activations (%)",
    "views.sat.now": "Latest snapshot: {share:.1f}% of activations saturated (first: {first:.1f}%).",
    # unit finder
    "views.track": "Find the units that track something",
    "views.track.help": "Pick a feature of the text: the units whose activation correlates most "
                        "with it (Pearson r over {n} characters of the last {k} snapshots, "
                        "steps {a}–{b}), each shown over the text.",
    "views.track.feature": "Feature",
    "views.track.space": "space",
    "views.track.vowel": "vowel",
    "views.track.word_pos": "position in the word",
    "views.track.quotes": "inside quotes",
    "views.track.line_start": "line start",
    "views.track.char": "a character",
    "views.track.char_pick": "Character",
    "views.track.char_help": "One character of the vocabulary.",
    "views.track.char_bad": "Type exactly one character.",
    "views.track.constant": "This feature never changes in this text (d2l's tokens keep only "
                            "letters and spaces: no quotes, no line breaks), so no unit can follow it.",
    "views.track.lstm": "For LSTM, the cell states c[j] are searched too.",
    "views.track.scaled": "scaled by 1/{m:.2f}",
    "views.track.excerpt": "Shown on batch row {lane}, the last kept minibatches.",
    # theta
    "views.theta": "Choosing θ from this run (Pascanu et al. 2013)",
    "views.theta.help": "Their rule: take θ from the average gradient norm before clipping over "
                        "a large enough number of updates. Here: the mean norm over the window.",
    "views.theta.window": "Window",
    "views.theta.last": "last {n} steps",
    "views.theta.all": "all steps",
    "views.theta.suggested": "Suggested θ",
    "views.theta.suggested.help": "Mean ||g|| before clipping over steps {a}–{b} ({n} steps).",
    "views.theta.current": "This run's θ",
    "views.theta.none": "none",
    "views.theta.would": "Would clip",
    "views.theta.would.help": "Share of this run's {n} steps whose norm before clipping exceeds the "
                              "suggested θ (a new run's norms will differ).",
    "views.theta.did": "Clipped here",
    "views.theta.start": "Start a new run with θ = {theta:.3g}",
    "views.theta.started": "Started run {name} with θ = {theta:.3g}; pick it in the run list.",
    "views.theta.bad": "No finite gradient norm in this window: no θ to suggest.",
    "views.sigma.note": "**What σ_max(W_hh) > 1 means.** Back through k time steps the linear part "
                        "of the recurrence multiplies the gradient by W_hh k times, so its norm "
                        "grows at most like σ_max^k. σ_max > 1 is therefore *necessary* for the "
                        "gradient to explode, not sufficient: it may still shrink. σ_max < 1 is "
                        "*sufficient* for it to vanish (like σ_max^k), and stays so with tanh, "
                        "whose slope is at most 1.",
    # cliff
    "views.cliff": "Pascanu's cliff: why clipping helps",
    "views.cliff.help": "Pascanu, Mikolov and Bengio's one-unit RNN: x_t = w·σ(x_(t−1)) + b from "
                        "x_0 = 0.5, loss (x_50 − 0.7)². Where the recurrence switches between two "
                        "fixed points the loss drops off a wall and the gradient is huge. Gradient "
                        "descent (lr {lr}) from the start you pick: without clipping it is thrown "
                        "far at the wall; with the norm clipped to θ no step is longer than lr·θ.",
    "views.cliff.w0": "start w",
    "views.cliff.b0": "start b",
    "views.cliff.theta": "θ",
    "views.cliff.title": "One-unit RNN: loss over (w, b)",
    "views.cliff.colour": "log10 loss",
    "views.cliff.plain": "no clipping (longest step {step:.2f})",
    "views.cliff.clipped": "clipped to θ = {theta:g} (longest step {step:.2f})",
    "views.cliff.start": "start",
}

ZH = {
    "views.order": "单元顺序",
    "views.order.similar": "相似的单元放在一起",
    "views.order.index": "按编号",
    "views.order.help": "相似的放在一起：在保存的快照上激活相关的单元彼此相邻（以 1 − 相关系数为距离的平均连接层次聚类）。"
                        "同一次训练的顺序固定，各帧可以直接比较。",
    "views.order.basis": "顺序和二维坐标轴由 {n} 个保存的快照（第 {a}–{b} 步）计算，本次训练中保持不变{more}。",
    "views.order.more": "，直到快照数量翻倍",
    "views.pca": "二维中的隐状态",
    "views.pca.help": "每个点是读入对应字符后的 H_t，投影到本次训练所有保存状态的前两个主成分上（坐标轴固定）。"
                      "一条线连接同一批量行的各个时间步。点击 ▶ 或拖动滑块浏览训练过程。",
    "views.pca.title": "H_t 在本次训练前两个主成分上的投影",
    "views.pca.axis": "PC{k}（方差的 {share:.0f}%）",
    "views.pca.frame": "训练步",
    "views.pca.where": "第 {step} 步时，批量行 {lane} 的点与其中心的平均距离为 {spread:.2f}"
                       "（第 {first} 步时为 {spread0:.2f}）：学习之后，状态随字符移动得更远。",
    "views.sat": "饱和的单元",
    "views.sat.help": "|h| > {th} 的激活所占比例：此时 tanh 的斜率 1 − h² 小于 {slope:.2f}，"
                      "该单元在这一步几乎不让梯度通过。",
    "views.sat.relu": "ReLU 单元不会在 ±1 处饱和；这个视图针对有界激活函数。",
    "views.sat.title": "每个保存快照中 |h| > {th} 的比例",
    "views.sat.name": "|h| > {th}",
    "views.sat.y": "激活所占比例（%）",
    "views.sat.now": "最新快照：{share:.1f}% 的激活已饱和（最早的快照：{first:.1f}%）。",
    "views.track": "找出追踪某种特征的单元",
    "views.track.help": "选择文本的一种特征：与它相关性最强的单元（在最近 {k} 个快照、第 {a}–{b} 步的 {n} "
                        "个字符上的皮尔逊相关系数 r），并把每个单元显示在文本上。",
    "views.track.feature": "特征",
    "views.track.space": "空格",
    "views.track.vowel": "元音",
    "views.track.word_pos": "在单词中的位置",
    "views.track.quotes": "引号之内",
    "views.track.line_start": "行首",
    "views.track.char": "某个字符",
    "views.track.char_pick": "字符",
    "views.track.char_help": "词表中的一个字符。",
    "views.track.char_bad": "请只输入一个字符。",
    "views.track.constant": "这个特征在这段文本中从不变化（d2l 的词元只保留字母和空格：没有引号，也没有换行），"
                            "所以没有单元能追踪它。",
    "views.track.lstm": "对 LSTM，也会搜索记忆元 c[j]。",
    "views.track.scaled": "已乘以 1/{m:.2f}",
    "views.track.excerpt": "显示在批量行 {lane} 上，为最近保存的几个小批量。",
    "views.theta": "根据本次训练选择 θ（Pascanu 等，2013）",
    "views.theta.help": "他们的规则：取足够多次更新中裁剪前梯度范数的平均值作为 θ。这里：窗口内范数的平均值。",
    "views.theta.window": "窗口",
    "views.theta.last": "最近 {n} 步",
    "views.theta.all": "全部步数",
    "views.theta.suggested": "建议的 θ",
    "views.theta.suggested.help": "第 {a}–{b} 步（共 {n} 步）裁剪前 ||g|| 的平均值。",
    "views.theta.current": "本次训练的 θ",
    "views.theta.none": "无",
    "views.theta.would": "将被裁剪",
    "views.theta.would.help": "本次训练 {n} 步中裁剪前范数超过建议 θ 的比例（新训练的范数会有所不同）。",
    "views.theta.did": "本次实际裁剪",
    "views.theta.start": "用 θ = {theta:.3g} 开始新的训练",
    "views.theta.started": "已开始训练 {name}，θ = {theta:.3g}；可在训练列表中选择它。",
    "views.theta.bad": "这个窗口内没有有限的梯度范数：无法给出建议的 θ。",
    "views.sigma.note": "**σ_max(W_hh) > 1 意味着什么。** 反向经过 k 个时间步时，循环的线性部分把梯度乘以 W_hh 共 k 次，"
                        "所以梯度范数至多按 σ_max^k 增长。因此 σ_max > 1 是梯度爆炸的*必要*条件，而不是充分条件："
                        "梯度仍可能变小。σ_max < 1 是梯度消失（按 σ_max^k）的*充分*条件；加上斜率至多为 1 的 tanh 后仍然成立。",
    "views.cliff": "Pascanu 的悬崖：为什么裁剪有用",
    "views.cliff.help": "Pascanu、Mikolov 和 Bengio 的单单元 RNN：x_t = w·σ(x_(t−1)) + b，x_0 = 0.5，"
                        "损失为 (x_50 − 0.7)²。在循环于两个不动点之间切换的地方，损失像悬崖一样陡降，梯度极大。"
                        "从你选择的起点做梯度下降（学习率 {lr}）：不裁剪时在悬崖处被远远抛出；把范数裁剪到 θ 后，"
                        "每一步都不超过 lr·θ。",
    "views.cliff.w0": "起点 w",
    "views.cliff.b0": "起点 b",
    "views.cliff.theta": "θ",
    "views.cliff.title": "单单元 RNN：损失随 (w, b) 的变化",
    "views.cliff.colour": "log10 损失",
    "views.cliff.plain": "不裁剪（最长一步 {step:.2f}）",
    "views.cliff.clipped": "裁剪到 θ = {theta:g}（最长一步 {step:.2f}）",
    "views.cliff.start": "起点",
}
