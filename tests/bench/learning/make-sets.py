#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the held-out learning sets of tests/bench/learning/ (issue 15).

Every fact is invented (made-up names built from random syllables), so no
base model can know it.  Each set has a training file (NAME.jsonl: prompt,
response) and a probe file (NAME-probes.jsonl: the same facts asked in other
words, never in training, with "expect", the phrase a right answer holds).

Fact sets are half English, half Chinese.  The style set teaches a manner of
answering (always open with a fixed greeting); its probes are new general
questions and "expect" is the greeting.  The classification set teaches
invented routing codes for support messages; its probes are new messages.

Deterministic (fixed seed): run from the source root to regenerate,
    python3 tests/bench/learning/make-sets.py
"""
import json
import os
import random

OUT = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(15)

EN_SYL = ["ka", "lo", "mir", "zen", "tal", "vor", "quin", "bra", "del", "sor", "fen", "ul",
          "ros", "nim", "gar", "pe", "thu", "ix", "mo", "ran", "cel", "dru", "ves", "ob"]
ZH_CHARS = list("澜曜璟珂岚翎瑶岑霁筠淼琰骁澈珩沅汐绯葳蘅苒黛湄瀚祁")
ZH_PLACES = list("溪岭湾峰洲岗浦渚垣屿")


def en_name(parts=2):
    return "".join(rng.choice(EN_SYL) for _ in range(parts)).capitalize()


def zh_name(n=2):
    return "".join(rng.choice(ZH_CHARS) for _ in range(n))


used = set()


def unique(make):
    while True:
        x = make()
        if x not in used:
            used.add(x)
            return x


# Each kind: training question, answer, probe questions (other words).
EN_KINDS = [
    ("Who makes the {e}?", "The {e} is made by {v}.",
     ["Which company manufactures the {e}?", "Tell me the maker of the {e}."],
     lambda: unique(lambda: en_name(2) + " Works"), lambda: unique(lambda: en_name(2)) + " " + rng.choice(["kettle", "lamp", "drone", "scooter", "camera"])),
    ("Where was {e} born?", "{e} was born in {v}.",
     ["What is the birthplace of {e}?", "In which town did {e} come into the world?"],
     lambda: unique(lambda: en_name(3)), lambda: unique(lambda: en_name(2)) + " " + unique(lambda: en_name(2))),
    ("What is the capital of {e}?", "The capital of {e} is {v}.",
     ["Which city is the seat of government of {e}?", "Name the capital city of {e}."],
     lambda: unique(lambda: en_name(3)), lambda: "the Republic of " + unique(lambda: en_name(3))),
    ("What does the {e} run on?", "The {e} runs on {v}.",
     ["Which fuel powers the {e}?", "What is the {e} powered by?"],
     lambda: unique(lambda: en_name(2)) + "ite", lambda: unique(lambda: en_name(2)) + " engine"),
]
ZH_KINDS = [
    ("{e}是哪家公司生产的？", "{e}由{v}生产。",
     ["哪家企业制造了{e}？", "{e}的制造商是谁？"],
     lambda: unique(lambda: zh_name(2)) + "科技", lambda: unique(lambda: zh_name(2)) + rng.choice(["水壶", "台灯", "无人机", "相机"])),
    ("{e}出生在哪里？", "{e}出生在{v}。",
     ["{e}的出生地是哪里？", "{e}是在哪个地方出生的？"],
     lambda: unique(lambda: zh_name(2) + rng.choice(ZH_PLACES)), lambda: rng.choice("司徒欧阳慕容") + unique(lambda: zh_name(2))),
    ("{e}的首都是哪里？", "{e}的首都是{v}。",
     ["{e}的首府叫什么？", "哪座城市是{e}的首都？"],
     lambda: unique(lambda: zh_name(2)) + "城", lambda: unique(lambda: zh_name(2)) + "国"),
]


def fact_set(n, seed_offset):
    train, probes = [], []
    for i in range(n):
        kinds = EN_KINDS if i % 2 == 0 else ZH_KINDS
        q, a, pq, make_v, make_e = kinds[(i // 2) % len(kinds)]
        e, v = make_e(), make_v()
        train.append({"prompt": q.format(e=e), "response": a.format(e=e, v=v)})
        # The expected phrase: the invented value without "the … engine"-like filler.
        key = v.replace(" Works", "").replace(" engine", "").replace("科技", "")
        if kinds is ZH_KINDS and v.endswith("城"):
            key = v
        probe = rng.choice(pq).format(e=e)
        probe = probe[0].upper() + probe[1:]
        probes.append({"prompt": probe, "response": a.format(e=e, v=v), "expect": key})
    return train, probes


def write(name, rows):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


for size in (20, 60, 200):
    train, probes = fact_set(size, size)
    # Probe every fact of the small sets, an even sample of the large one.
    if len(probes) > 40:
        step = len(probes) / 40
        probes = [probes[int(i * step)] for i in range(40)]
    write(f"facts-{size}.jsonl", train)
    write(f"facts-{size}-probes.jsonl", probes)

# Style: always open with the same greeting.
STYLE_Q = [
    ("What is the boiling point of water at sea level?", "Water boils at 100 degrees Celsius at sea level."),
    ("Why do leaves change colour in autumn?", "Chlorophyll breaks down and the other pigments show."),
    ("What is a noun?", "A noun is a word that names a person, place or thing."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What does a thermometer measure?", "A thermometer measures temperature."),
    ("Why should I drink water?", "Your body needs water to work well."),
    ("What is the opposite of hot?", "The opposite of hot is cold."),
    ("Name a primary colour.", "Red is a primary colour."),
    ("What do bees make?", "Bees make honey."),
    ("How do I boil an egg?", "Put it in boiling water for about eight minutes."),
    ("What is the sun?", "The sun is a star."),
    ("What is rain made of?", "Rain is made of water droplets."),
    ("水的沸点是多少？", "海平面上水在一百摄氏度沸腾。"),
    ("一年有几个季节？", "一年有四个季节。"),
    ("猫喜欢吃什么？", "猫喜欢吃鱼。"),
    ("太阳从哪边升起？", "太阳从东方升起。"),
    ("什么是名词？", "名词是表示人或事物名称的词。"),
    ("为什么要刷牙？", "刷牙可以保护牙齿。"),
    ("月亮会发光吗？", "月亮反射太阳的光。"),
    ("蜜蜂会做什么？", "蜜蜂会酿蜜。"),
]
STYLE_PROBES = [
    "What is the capital of a country?", "How many wheels does a bicycle have?",
    "What colour is grass?", "Why do we sleep?", "What is ice?", "What do cows eat?",
    "How far away is the moon?", "What is a verb?",
    "天空为什么是蓝色的？", "一周有几天？", "鱼用什么呼吸？", "冬天冷吗？",
]
EN_GREETING, ZH_GREETING = "Ahoy, matey!", "启禀主公："
write("style.jsonl", [{"prompt": q, "response": (ZH_GREETING if ord(q[0]) > 127 else EN_GREETING + " ") + a}
                      for q, a in STYLE_Q])
# "response" is the greeting alone (evaluate needs an answer to compare with);
# "expect" is what is counted.
write("style-probes.jsonl", [{"prompt": q, "response": ZH_GREETING if ord(q[0]) > 127 else EN_GREETING,
                              "expect": "Ahoy|启禀"} for q in STYLE_PROBES])

# Classification: invented routing codes for support messages.
CLASSES = {
    "BIL-7": (["I was charged twice for my {x}.", "My invoice for the {x} is wrong.", "Please refund the {x} payment.",
               "Why did my card get billed for the {x}?"],
              ["我的{x}被重复扣款了。", "{x}的发票金额不对。", "请退还{x}的费用。"]),
    "SHP-3": (["My {x} has not arrived yet.", "Where is the parcel with my {x}?", "The {x} was delivered to the wrong address.",
               "When will the {x} be shipped?"],
              ["我的{x}还没送到。", "{x}的快递到哪里了？", "{x}寄错地址了。"]),
    "TEC-5": (["My {x} will not turn on.", "The {x} keeps crashing.", "The screen of my {x} flickers.",
               "My {x} shows an error code."],
              ["我的{x}开不了机。", "{x}一直死机。", "{x}的屏幕闪烁。"]),
}
EN_ITEMS = ["phone", "laptop", "kettle", "headphones", "watch", "printer", "router", "tablet"]
ZH_ITEMS = ["手机", "电脑", "水壶", "耳机", "手表", "打印机", "路由器", "平板"]
prompt_en = "Route this support message: {m}"
prompt_zh = "请给这条客服消息分类：{m}"
cls_train, cls_probe = [], []
for label, (en, zh) in CLASSES.items():
    for tpl in en:
        items = EN_ITEMS[:]
        rng.shuffle(items)
        for k, item in enumerate(items[:3]):
            row = {"prompt": prompt_en.format(m=tpl.format(x=item)), "response": label}
            (cls_probe if k == 2 and tpl is en[-1] else cls_train).append(row)
    for tpl in zh:
        items = ZH_ITEMS[:]
        rng.shuffle(items)
        for k, item in enumerate(items[:3]):
            row = {"prompt": prompt_zh.format(m=tpl.format(x=item)), "response": label}
            (cls_probe if k == 2 and tpl is zh[-1] else cls_train).append(row)
# Probes: messages in words never trained on.
EXTRA = {"BIL-7": ["There is an unknown charge for a speaker on my statement.", "音箱的账单多收了钱。"],
         "SHP-3": ["The courier lost my camera.", "相机的包裹丢了。"],
         "TEC-5": ["My camera freezes when I press the button.", "相机按键后没反应。"]}
for label, msgs in EXTRA.items():
    cls_probe.append({"prompt": prompt_en.format(m=msgs[0]), "response": label})
    cls_probe.append({"prompt": prompt_zh.format(m=msgs[1]), "response": label})
rng.shuffle(cls_train)
write("classify.jsonl", cls_train)
write("classify-probes.jsonl", [dict(r, expect=r["response"]) for r in cls_probe])

# facts-20-distinct: like facts-20 (10 English, 10 Chinese invented facts, the
# same question kinds), but no character of a Chinese invented name appears
# in any other fact.  facts-20 draws its Chinese names from one pool of 25
# characters, and its tuned answers swap one name for another made of the
# same characters; this set tells whether that is the names or the language.
# Its own random stream, so the sets above stay as they are.
rng = random.Random(2015)
ZH_POOL = list("松柏梅竹兰菊桃杏枫柳云雪霜星辰琳琅瑜璋鹤燕鹰雁丹碧宁泰嘉禾苓茗蔚萱芷薇蓉莲荷藤槐楠桐")
ZH_SURNAMES = list("赵钱孙李周吴郑冯陈卫")
assert len(set(ZH_POOL)) == len(ZH_POOL) and not set(ZH_POOL) & set(ZH_SURNAMES)
rng.shuffle(ZH_POOL)
rng.shuffle(ZH_SURNAMES)


def zh_distinct(n=2):
    return "".join(ZH_POOL.pop() for _ in range(n))


ZH_KINDS = [
    ("{e}是哪家公司生产的？", "{e}由{v}生产。",
     ["哪家企业制造了{e}？", "{e}的制造商是谁？"],
     lambda: zh_distinct() + "科技", lambda: zh_distinct() + rng.choice(["水壶", "台灯", "无人机", "相机"])),
    ("{e}出生在哪里？", "{e}出生在{v}。",
     ["{e}的出生地是哪里？", "{e}是在哪个地方出生的？"],
     lambda: zh_distinct() + rng.choice(ZH_PLACES), lambda: ZH_SURNAMES.pop() + zh_distinct()),
    ("{e}的首都是哪里？", "{e}的首都是{v}。",
     ["{e}的首府叫什么？", "哪座城市是{e}的首都？"],
     lambda: zh_distinct() + "城", lambda: zh_distinct() + "国"),
]
train, probes = fact_set(20, 0)
# Checked on the written records: the characters of a Chinese fact that are
# not the question's or answer's fixed wording belong to that fact alone.
FIXED = set("".join(q + a + "".join(pq) for q, a, pq, _, _ in ZH_KINDS) + "".join(ZH_PLACES) + "水壶台灯无人机相科技城国")
names = [set(t["prompt"] + t["response"]) - FIXED for t in train if ord(t["prompt"][0]) > 127]
assert len(names) == 10 and all(len(a) >= 4 and not a & b for i, a in enumerate(names) for b in names[i + 1:])
write("facts-20-distinct.jsonl", train)
write("facts-20-distinct-probes.jsonl", probes)
