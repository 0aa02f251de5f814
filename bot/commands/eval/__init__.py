"""`medgemma-bot eval`: public benchmarks through the bot's own pipeline, the cards' metrics.

datasets   the public layouts (VQA-RAD, SLAKE, a labels CSV) -> question items
questions  the text asked per item and mode (bot/prompts/eval.toml)
runner     items through FileLoader + Pipeline, in `card` or `bot` mode
records    one scored record per item, in a resumable JSON Lines file
metrics    tokenized F1, closed-question accuracy, macro F1 (pure)
report     the JSON report and the Markdown table beside the cards' figures
published  the model cards' own figures
command    the command itself
"""
