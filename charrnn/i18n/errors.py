"""The engine's refusals: settings out of range, a corpus or a file it cannot
use. Each is raised with its key (charrnn.i18n.Explained), so a page says it
in its reader's language; the English text is also the CLI's."""

EN = {
    "cfg.err.mapping": "settings must be a mapping of names to values",
    "cfg.err.unknown": "unknown setting(s): {names}",
    "cfg.err.unknown_more": "unknown setting(s): {names} and {more} more",
    "cfg.err.detach": "detach can only be turned off for the scratch model with sequential "
                  "partitioning (random partitioning carries no state)",
    "cfg.err.activation": "activation can only be changed for the scratch model",
    "cfg.err.text_type": "text must be the text itself (a string)",
    "cfg.err.text_needed": "corpus 'text' needs the text itself",
    "cfg.err.init_weights": "init_weights must be the path of a weights file",
    "corpus.tokens": "tokens must be d2l or raw, not {value}",
    "corpus.no_text": "No text was given.",
    "corpus.no_file": "No such corpus file: {path}",
    "store.not_weights": "not a weights file this app can read ({error}); weights are loaded "
                         "with weights_only=True",
    "store.not_state_dict": "not a state_dict: expected a dictionary of tensors",
    "store.weights_misfit": "the weights do not fit this model ({model}, num_hiddens "
                            "{num_hiddens}, vocabulary {vocab}): {detail}",
    "store.checkpoint_misfit": "the checkpoint does not fit this model ({error})",
    "store.unreadable": "{file} of run {run} is unreadable ({error})",
    "store.damaged": "the data of run {run} is damaged ({error})",
    "store.bad_config": "run {run} has an invalid config ({error})",
    "store.run_weights_misfit": "weights of run {run} do not fit its model ({error})",
}

ZH = {
    "cfg.err.mapping": "设置必须是从名称到取值的映射",
    "cfg.err.unknown": "未知的设置：{names}",
    "cfg.err.unknown_more": "未知的设置：{names} 以及另外 {more} 个",
    "cfg.err.detach": "只有从零实现的模型在顺序分区时才能关闭 detach（随机分区不携带状态）",
    "cfg.err.activation": "只有从零实现的模型才能更换激活函数",
    "cfg.err.text_type": "text 必须是文本本身（字符串）",
    "cfg.err.text_needed": "语料 'text' 需要提供文本本身",
    "cfg.err.init_weights": "init_weights 必须是权重文件的路径",
    "corpus.tokens": "tokens 必须是 d2l 或 raw，而不是 {value}",
    "corpus.no_text": "没有提供文本。",
    "corpus.no_file": "找不到语料文件：{path}",
    "store.not_weights": "这不是本应用能读取的权重文件（{error}）；权重以 weights_only=True 方式加载",
    "store.not_state_dict": "这不是 state_dict：需要一个由张量组成的字典",
    "store.weights_misfit": "这些权重与此模型不匹配（{model}，num_hiddens {num_hiddens}，"
                            "词表大小 {vocab}）：{detail}",
    "store.checkpoint_misfit": "检查点与此模型不匹配（{error}）",
    "store.unreadable": "运行 {run} 的 {file} 无法读取（{error}）",
    "store.damaged": "运行 {run} 的数据已损坏（{error}）",
    "store.bad_config": "运行 {run} 的设置无效（{error}）",
    "store.run_weights_misfit": "运行 {run} 的权重与其模型不匹配（{error}）",
}
