"""The question's path every front shares: files -> images -> conversation -> backend -> answer.

messages       a thread's messages before and after their files are decoded
file_loader    shared files -> decoded images (cache, downloads, each question's budget)
decoding/      the processes that decode files: pool, jobs, processes, worker
cache          the decoded-image cache
conversation   turns and the token budget (pure)
image_sets     the words and thinning of image sets (pure)
pipeline       the steps: decode, plan, generate under the deadline, stats
notes          what an answer says besides the findings (pure)
limits         the download cap; what the model can take, checked at start-up
plans          which request: the conversation, a MedGemma 1.5 recipe, a continuation
abilities      what a question asks for beyond findings (where, a prior, values, the rest)
recipes        Google's one-turn recipes for MedGemma 1.5's chest X-ray abilities (pure)
localise       Google's localisation prompt filled in, the boxes read back (pure)
extraction     a lab report's values read back and checked against its text (pure)
steps          a series' or a slide's steps (read, prepare, ask) for a front to show (pure)
"""
