"""The question's path every front shares: files -> images -> conversation -> backend -> answer.

messages       a thread's messages before and after their files are decoded
file_loader    shared files -> decoded images (cache, downloads, each question's budget)
decode_pool    decoding processes and the fair line in front of them (deadlines, preemption)
decode_jobs    a question's ticket (its share of decoding) and its files waiting as jobs
decode_process one decoding process seen from the bot: start, exchange, kill
decode_worker  the decoding process itself (`python -m bot.pipeline.decode_worker`)
cache          the decoded-image cache
conversation   turns and the token budget (pure)
image_sets     the words and thinning of image sets (pure)
pipeline       the steps: decode, plan, generate under the deadline, stats
notes          what an answer says besides the findings (pure)
limits         the download cap; what the model can take, checked at start-up
"""
