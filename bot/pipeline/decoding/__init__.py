"""Files decoded in processes of their own, which a deadline, a deleted or stopped question, or
a waiting bystander can stop; the bot's memory is never at stake.

pool       decoding processes and the fair line in front of them (deadlines, preemption)
jobs       a question's ticket (its share of decoding) and its files waiting as jobs
processes  one decoding process seen from the bot: start, exchange, kill
worker     the decoding process itself (`python -m bot.pipeline.decoding.worker`)
"""
