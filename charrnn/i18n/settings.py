"""Strings of the settings table (charrnn/settings.py) and of reading a link."""

EN = {
    # what a setting accepts, in words (CLI --help, README, link warnings)
    "set.allowed.int": "a whole number between {lo} and {hi}",
    "set.allowed.float": "a number between {lo} and {hi}",
    "set.allowed.no_zero": "{allowed}, not 0",
    "set.allowed.none": "{allowed}; 0 or none: off",
    "set.allowed.bool": "yes or no (1/0, true/false, yes/no, on/off)",
    "set.allowed.choice": "one of {choices}",
    "set.allowed.lanes": "1 to {max} batch row numbers, each below batch_size",
    "set.allowed.text": "text of {lo} to {hi} characters",
    # help of the settings that have no sidebar help of their own
    "set.corpus.help": "timemachine (d2l's book), fallback, text (your own), or a UTF-8 "
                       "text file's path.",
    "set.model.help": "The RNN from scratch of d2l 8.5, or PyTorch's nn.RNN, GRU or LSTM.",
    "set.batch_size.help": "Samples per minibatch, each with its own hidden state (d2l: 32).",
    "set.num_steps.help": "Time steps per sample: how far back one backward pass reaches "
                          "(d2l: 35).",
    "set.num_epochs.help": "Passes over the corpus (d2l: 500).",
    "set.seed.help": "Seed of the random initial weights and of random partitioning.",
    "set.prefix.help": "The text that samples continue.",
    "set.sample_every.help": "Write a text sample every N epochs.",
    "set.spectral_every.help": "Record W_hh's singular values every N steps.",
    "set.num_preds.help": "Characters per text sample.",
    "cfg.theta": "theta (θ)",
    # the validator's sentences (the CLI prints the English one)
    "set.err.whole": "{name} must be a whole number between {lo} and {hi}, not {value}",
    "set.err.whole_any": "{name} must be a whole number, not {value}",
    "set.err.number": "{name} must be a number between {lo} and {hi}, not {value}",
    "set.err.finite": "{name} must be a finite number between {lo} and {hi}, not {value}",
    "set.err.range": "{name} must be between {lo} and {hi}, not {value}",
    "set.err.no_zero": "{name} must be {lo} (all) or at least 1",
    "set.err.bool": "{name} must be true or false, not {value}",
    "set.err.words": "{name} must be true or false ({no} or {yes}), not {value}",
    "set.err.choice": "{name} must be one of {choices}, not {value}",
    "set.err.device": "device must be one of {choices} or cuda:N, not {value}",
    "set.err.lanes_list": "probe_lanes must be a list of batch row numbers",
    "set.err.lanes_count": "probe_lanes must name between 1 and {max} batch rows",
    "set.err.lanes_from_0": "probe_lanes must be batch row numbers from 0",
    "set.err.lanes_range": "probe_lanes must lie in 0..{last} (batch_size is {batch_size})",
    "set.err.corpus": "corpus must be timemachine, fallback, text or a file path",
    "set.err.text": "{name} must be {lo} to {hi} characters long",
    # a link's value that cannot be used
    "link.bad": "The link's {name}={value} cannot be used: {name} must be {allowed}. "
                "Using {default} instead.",
    "link.kept": "The link's {name}={value} cannot be used: {name} must be {allowed}. "
                 "Start refuses it until it is changed.",
    "link.device": "The link's device={value} is not on this machine (it has {allowed}). "
                   "Using {default} instead.",
    "link.hide": "The link hides {names}, which this page does not have. Names ?hide= "
                 "understands: {allowed}.",
    "link.run": "The link's run={value} is not a run on this server; the run picker shows "
                "another one.",
    "link.runs": "The link's runs={value}: no such run on this server; the comparison "
                 "leaves it out.",
}

ZH = {
    "set.allowed.int": "{lo} 到 {hi} 之间的整数",
    "set.allowed.float": "{lo} 到 {hi} 之间的数",
    "set.allowed.no_zero": "{allowed}，但不能是 0",
    "set.allowed.none": "{allowed}；0 或 none 表示关闭",
    "set.allowed.bool": "是或否（1/0、true/false、yes/no、on/off）",
    "set.allowed.choice": "以下之一：{choices}",
    "set.allowed.lanes": "1 到 {max} 个批量行号，每个都小于 batch_size",
    "set.allowed.text": "{lo} 到 {hi} 个字符的文本",
    "set.corpus.help": "timemachine（d2l 的书）、fallback、text（你自己的文本），"
                       "或一个 UTF-8 文本文件的路径。",
    "set.model.help": "d2l 8.5 从零实现的 RNN，或 PyTorch 的 nn.RNN、GRU、LSTM。",
    "set.batch_size.help": "每个小批量的样本数，每个样本有自己的隐状态（d2l：32）。",
    "set.num_steps.help": "每个样本的时间步数：一次反向传播能回溯多远（d2l：35）。",
    "set.num_epochs.help": "遍历语料的次数（d2l：500）。",
    "set.seed.help": "初始权重和随机采样所用的随机种子。",
    "set.prefix.help": "生成样本时接着往下写的文本。",
    "set.sample_every.help": "每 N 个迭代周期生成一段文本样本。",
    "set.spectral_every.help": "每 N 步记录一次 W_hh 的奇异值。",
    "set.num_preds.help": "每段文本样本的字符数。",
    "cfg.theta": "theta (θ)",
    "set.err.whole": "{name} 必须是 {lo} 到 {hi} 之间的整数，而不是 {value}",
    "set.err.whole_any": "{name} 必须是整数，而不是 {value}",
    "set.err.number": "{name} 必须是 {lo} 到 {hi} 之间的数，而不是 {value}",
    "set.err.finite": "{name} 必须是 {lo} 到 {hi} 之间的有限数，而不是 {value}",
    "set.err.range": "{name} 必须在 {lo} 到 {hi} 之间，而不是 {value}",
    "set.err.no_zero": "{name} 必须是 {lo}（全部）或至少 1",
    "set.err.bool": "{name} 必须是 true 或 false，而不是 {value}",
    "set.err.words": "{name} 必须是 true 或 false（{no} 或 {yes}），而不是 {value}",
    "set.err.choice": "{name} 必须是以下之一：{choices}，而不是 {value}",
    "set.err.device": "device 必须是以下之一：{choices} 或 cuda:N，而不是 {value}",
    "set.err.lanes_list": "probe_lanes 必须是批量行号的列表",
    "set.err.lanes_count": "probe_lanes 必须列出 1 到 {max} 个批量行",
    "set.err.lanes_from_0": "probe_lanes 必须是从 0 开始的批量行号",
    "set.err.lanes_range": "probe_lanes 必须在 0..{last} 之间（batch_size 是 {batch_size}）",
    "set.err.corpus": "corpus 必须是 timemachine、fallback、text 或一个文件路径",
    "set.err.text": "{name} 的长度必须在 {lo} 到 {hi} 个字符之间",
    "link.bad": "链接中的 {name}={value} 无法使用：{name} 必须是{allowed}。改用 {default}。",
    "link.kept": "链接中的 {name}={value} 无法使用：{name} 必须是{allowed}。"
                 "在修改之前无法开始训练。",
    "link.device": "链接中的 device={value} 不在这台机器上（可用：{allowed}）。改用 {default}。",
    "link.hide": "链接要隐藏 {names}，但本页没有这些设置。?hide= 可用的名称：{allowed}。",
    "link.run": "链接中的 run={value} 不是本服务器上的运行；运行选择器显示的是另一个运行。",
    "link.runs": "链接中的 runs={value}：本服务器上没有这个运行；比较时不包括它。",
}
