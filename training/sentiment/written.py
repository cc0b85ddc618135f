"""The written chatter set (issue #35): posts in the style of stock chatter,
written for this project and labelled under data/taborda-2020/GUIDELINE.md,
most of them neutral, the class the labelled sources lack in chatter style.

    python training/sentiment/written.py          # writes training/sentiment/written-chatter.csv
    python training/sentiment/written.py check    # the committed file is what this makes

Provenance: every frame, opener and closer below was written for TickerPulse;
no text comes from any data set. A post is a frame (one category of the
guideline, so its label is the category's) with its slots filled (tickers,
numbers, days), and, for some, an opener or a closer of the same register.
Seeded: the same file every time. The frames are the unit of writing: 2,000
posts come from a few hundred frames, so the set is much less varied than
2,000 posts by different people would be; docs/sentiment.md says what that
means for the results.
"""

import csv
import os
import random
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "training", "sentiment", "written-chatter.csv")
SEED = 35
POSTS = 2400

TICKERS = [
    "TSLA", "AAPL", "NVDA", "AMD", "MSFT", "AMZN", "META", "GOOGL", "NFLX", "PLTR",
    "SOFI", "F", "GM", "BAC", "JPM", "XOM", "CVX", "DIS", "NIO", "RIVN", "LCID",
    "COIN", "HOOD", "SHOP", "SQ", "PYPL", "INTC", "MU", "SNAP", "UBER", "ABNB",
    "BA", "PFE", "MRNA", "KO", "WMT", "COST", "T", "VZ", "SPY", "QQQ", "IWM",
    "GME", "AMC", "BB", "CCL", "AAL", "DAL", "ROKU", "ZM", "CRWD", "SNOW", "NKE",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "tomorrow", "next week", "today"]
TIMES = ["9:30", "10am", "noon", "2pm", "3:30", "the close", "the open", "after hours", "premarket"]

# --- neutral (GUIDELINE.md "neutral": facts with no direction, questions,
# ticker lists, holdings without a view, ads and giveaways, mixed) -----------
NEUTRAL = [
    # questions
    "anyone know when ${t} reports earnings?",
    "what time does ${t} report {day}?",
    "is ${t} worth looking at here or did I miss it",
    "who is holding ${t} over the weekend",
    "thoughts on ${t}?",
    "what's everyone's take on ${t} into earnings",
    "how are you guys sizing ${t} positions",
    "does ${t} pay a dividend or no",
    "why is ${t} halted",
    "what broker do you use for ${t} options",
    "is the ${t} call tonight or tomorrow morning",
    "can someone explain the ${t} share split to me",
    "${t} or ${t2} for a long term hold? genuinely asking",
    "where are you getting the ${t} short interest numbers",
    "anyone trading ${t} today or just watching",
    "what's the IV on ${t} weeklies looking like",
    "how do I read the ${t} options chain",
    "which strike are people looking at for ${t}",
    "when is the ${t} ex-dividend date",
    "is anyone else's app not loading ${t} quotes",
    "what's the float on ${t}",
    "what do you all use for ${t} charting",
    "is ${t} in the S&P or not",
    "should I learn on ${t} or something cheaper",
    "any ${t} holders here",
    "how long do you usually hold ${t} swings",
    "is ${t} a buy here? looking for opinions",
    "what happened with ${t} after hours",
    "where do you set stops on ${t}",
    "who's got the ${t} earnings date",
    # schedules and relayed facts with no direction
    "${t} earnings {day} after the close",
    "${t} reports {day} before the open",
    "${t} ex-dividend date is {day}",
    "${t} annual shareholder meeting {day} at {time}",
    "${t} CEO speaks at a conference {day} at {time}",
    "${t} investor day is {day}",
    "reminder: ${t} options expire {day}",
    "${t} conference call at {time} {day}",
    "${t} files its 10-Q {day}",
    "${t} will hold a product event {day}",
    "${t} board meeting {day}, agenda not public",
    "fed minutes out at {time} {day}, ${t} on watch",
    "CPI print {day} at 8:30, then ${t} earnings after",
    "${t} trading at {n} right now",
    "${t} opened at {n}",
    "${t} sitting at {n} at {time}",
    "${t} volume is {m}M so far today",
    "${t} market cap around {n}B",
    "${t} last at {n}, bid {n} ask {n}",
    "${t} unchanged at the open",
    "${t} flat on the day so far",
    "${t} trading sideways at {n} all morning",
    "${t} moved to the nasdaq listing this month",
    "${t} has a new CFO starting {day}",
    "${t} changed its ticker, same company",
    "${t} 10-K is out, reading it tonight",
    "${t} proxy statement filed",
    # watch lists and levels
    "watchlist for {day}: ${t} ${t2} ${t3} ${t4}",
    "on my radar this week: ${t} ${t2} ${t3}",
    "levels I'm watching on ${t}: {n} and {n}",
    "${t} ${t2} ${t3} ${t4} ${t5} all on watch",
    "tickers for the stream today ${t} ${t2} ${t3}",
    "my scanner picked up ${t} ${t2} ${t3} this morning",
    "${t} key levels {n} / {n} / {n}",
    "today's list ${t} ${t2} ${t3}, will post entries if any",
    "gap list: ${t} ${t2} ${t3} ${t4}",
    "${t} and ${t2} report this week, marking the calendar",
    "earnings this week ${t} {day}, ${t2} {day2}, ${t3} {day3}",
    "charts up for ${t} ${t2} ${t3}, link in the thread",
    "top mentions on my feed today: ${t} ${t2} ${t3}",
    "most active premarket: ${t} ${t2} ${t3} ${t4}",
    # holdings and orders without a view
    "current portfolio: ${t} ${t2} ${t3} and some cash",
    "my holdings: ${t} {p}%, ${t2} {p}%, rest in index funds",
    "rolled my ${t} covered calls out a month",
    "moved my ${t} shares to a different broker",
    "set a limit order on ${t} at {n}, we'll see if it fills",
    "rebalanced today, ${t} is now {p}% of the account",
    "sold ${t} to pay for a car, nothing to do with the stock",
    "trimmed ${t} for tax reasons, still have most of it",
    "converted my ${t} position into the new shares after the merger",
    "transferred ${t} into my IRA",
    "dividend reinvestment on ${t} went through",
    "closed ${t} flat, moving the cash to ${t2}",
    "holding ${t} and ${t2} as part of an index basket",
    "paper trading ${t} to learn options",
    "my ${t} shares got called away at {n}",
    # relayed news in a trader's words, no direction
    "${t} announced a new CEO, no word on strategy yet",
    "${t} is moving its headquarters to {city}",
    "${t} filing mentions a possible spin off, details later",
    "${t} and ${t2} announced a partnership, terms not disclosed",
    "${t} will start reporting segments differently next quarter",
    "${t} changed its fiscal year end",
    "${t} renamed its cloud unit",
    "${t} says guidance will come at investor day",
    "${t} confirmed the split takes effect {day}",
    "${t} named a new chair of the board",
    "${t} is being added to a sector ETF rebalance, effective {day}",
    "${t} hearing scheduled {day}, outcome unknown",
    "headline just hit on ${t}, still reading it",
    "news on ${t} crossing now, nothing on price yet",
    # mixed: neither side dominates
    "${t} beat revenue but missed on margins, not sure how to read it",
    "${t} guidance up but costs up too, mixed bag",
    "${t} strong quarter, weak outlook, market will decide",
    "good product, expensive stock, staying out of ${t} either way",
    "${t} up premarket, down after hours, basically nothing",
    "half of this sub is bullish on ${t} and half is bearish",
    "${t} bulls and bears both have a point tbh",
    "long ${t} short ${t2} as a pair, no view on the sector",
    # ads, giveaways, promotion (cheerful, but nothing on the stock)
    "join our discord for free daily alerts {url}",
    "free options trading course this weekend, link in bio",
    "giveaway! follow and retweet to win a ${t} share",
    "our members get ${t} ${t2} ${t3} alerts in real time, join now",
    "new video up: how I read level 2 on ${t} {url}",
    "newsletter goes out at {time}, sign up {url}",
    "live trading stream starts at {time}, come hang out",
    "DM me for the premium group, limited spots",
    "free chart reviews today only, drop your ticker",
    "podcast episode on ${t} is live {url}",
    "we're hiring moderators for the trading chat",
    "sign up with my referral and get a free stock {url}",
    "webinar on swing trading {day} at {time}, free",
    "check out my blog post on ${t} fundamentals {url}",
    "come join 10k traders in our telegram {url}",
]

# --- positive and negative, in chatter style (smaller: the labelled sources
# have plenty of both) ---------------------------------------------------------
POSITIVE = [
    "${t} breaking out, adding more here",
    "loaded up on ${t} calls for {day}",
    "${t} looking strong into the close",
    "${t} crushed earnings, guidance raised",
    "${t} green again, love this stock",
    "took profits on ${t}, +{p}% on the trade",
    "${t} to {n} by summer, calling it now",
    "bought the dip on ${t}, feels good",
    "${t} upgraded to buy, target {n}",
    "${t} holding support beautifully, bullish",
    "${t} is so undervalued at these levels",
    "${t} up {p}% today and still going",
    "finally ${t} is moving, been waiting for this",
    "${t} record deliveries, this is huge",
    "long ${t}, best setup I've seen all month",
    "${t} won the contract, shares ripping",
    "${t} new all time high, congrats holders",
    "my ${t} position is printing today",
    "${t} approval came through, going higher",
    "${t} buyback announced, bullish",
]
NEGATIVE = [
    "${t} dumping hard, glad I sold",
    "bought ${t} puts, this is going lower",
    "${t} missed earnings and cut guidance",
    "${t} red again, this stock is a disaster",
    "stopped out of ${t}, -{p}% on the trade",
    "${t} downgraded to sell, target cut to {n}",
    "${t} breaking down below support",
    "${t} is so overvalued it hurts",
    "${t} down {p}% and no bottom in sight",
    "shorting ${t} into earnings",
    "${t} layoffs announced, not a good sign",
    "${t} recall is going to hurt",
    "bagholding ${t} since {n}, brutal",
    "${t} lawsuit news, stock tanking",
    "${t} bubble is popping",
    "sold all my ${t}, done with this company",
    "${t} guidance was terrible",
    "${t} dead cat bounce, don't fall for it",
    "${t} bankruptcy rumors again",
    "great, another {p}% down day for ${t}",
]

OPENERS = ["", "", "", "", "quick q: ", "ok so ", "honestly ", "fyi ", "psa: ", "noob here, ",
           "serious question, ", "heads up, ", "not advice but ", "real talk ", "lol ", "update: "]
CLOSERS = ["", "", "", "", " lmk", " thanks", " anyone?", " 🤔", " #stocks", " #investing",
           " #options", " tia", " imo", " ngl", " for the record", " noted", " 👀", " #trading"]
CITIES = ["Austin", "Miami", "Denver", "Atlanta", "Phoenix", "Nashville", "Dallas", "Charlotte"]


def fill(frame, rng):
    ts = rng.sample(TICKERS, 5)
    days = rng.sample(DAYS, 3)
    text = frame
    for i, key in enumerate(["t", "t2", "t3", "t4", "t5"]):
        text = text.replace("{" + key + "}", ts[i])
    text = text.replace("{day}", days[0]).replace("{day2}", days[1]).replace("{day3}", days[2])
    text = text.replace("{time}", rng.choice(TIMES)).replace("{city}", rng.choice(CITIES))
    text = text.replace("{url}", "https://example.com/" + "".join(rng.choice("abcdefgh") for _ in range(6)))
    while "{n}" in text:
        text = text.replace("{n}", str(rng.choice([rng.randint(5, 400), round(rng.uniform(1, 90), 2)])), 1)
    while "{m}" in text:
        text = text.replace("{m}", str(rng.randint(1, 80)), 1)
    while "{p}" in text:
        text = text.replace("{p}", str(rng.randint(2, 40)), 1)
    return text


def posts():
    """(text, label) of the set: neutral 60%, positive and negative 20% each."""
    rng = random.Random(SEED)
    out, seen = [], set()
    plan = [("neutral", NEUTRAL, 0.6), ("positive", POSITIVE, 0.2), ("negative", NEGATIVE, 0.2)]
    for label, frames, share in plan:
        want = int(POSTS * share)
        made = 0
        while made < want:
            frame = rng.choice(frames)
            opener = rng.choice(OPENERS) if label == "neutral" else rng.choice(OPENERS[:4] + ["lol ", "ngl ", "update: "])
            text = opener + fill(frame, rng) + rng.choice(CLOSERS)
            if text in seen:
                continue
            seen.add(text)
            out.append((text, label))
            made += 1
    rng.shuffle(out)
    return out


def render():
    import io

    rows = posts()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "text", "label", "source"])
    for i, (text, label) in enumerate(rows):
        w.writerow([f"w{i:04d}", text, label, "synthetic"])
    return buf.getvalue()


def main():
    text = render()
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{os.path.relpath(OUT, ROOT)} is not what written.py makes: run it")
        print("the written chatter set rebuilds exactly")
        return
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    counts = {}
    for line in csv.DictReader(text.splitlines()):
        counts[line["label"]] = counts.get(line["label"], 0) + 1
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {sum(counts.values())} posts {counts}")


if __name__ == "__main__":
    main()
