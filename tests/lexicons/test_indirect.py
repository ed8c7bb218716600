"""The second Chinese pass: classes of indirect phrasing, each with a case that must stay quiet.

Messages are invented for these tests; none is a row of the labelled sets.
"""

from __future__ import annotations

import pytest

from core.vocabulary import RiskLevel
from lexicons.detector import assess

N, L, M, H = RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH
IMM = RiskLevel.IMMINENT


def rules(text: str) -> set[str]:
    return {e.rule for e in assess(text).evidence}


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        # Getting hold of a named means is a plan; a bare 药 bought is a cold.
        ("我刚买了一卷绳子", H, "acquired_means"),
        ("我在网上偷偷买了一卷绳子", H, "gathering_means"),
        ("美工刀我已经弄到了", H, "acquired_means"),
        ("安眠药网购了，明天到", IMM, None),  # with a time it is a timed plan
        # At the place: a blank 在 / 到 before it says "now".
        ("我已经到天台了，往下看好高", IMM, "at_the_place"),
        ("我站在江边，水好冷", IMM, "at_the_place"),
        ("我在顶楼 要下去了", IMM, "at_the_place"),
        ("我在桥上", H, "at_a_high_place_now"),
        # Bleeding from a self-harm site; with another sign it is happening now.
        ("手臂一直在流血，头好晕", IMM, "bleeding_now"),
        ("手腕一直在流血", H, "bleeding"),
        # An urge with the blade at hand, a counted dose saved up, a dose "enough".
        ("好想划一下，小刀就在桌上", H, "urge_with_means"),
        ("我偷偷存了三十几粒了", H, "gathering_means"),
        ("安眠药要吃多少才够", H, "method_question"),
        ("哪座桥最高啊，下面水深吗", H, "method_question"),
        # "I don't know what it was" is not a question about a dose.
        ("刚吃了一整板药，不知道是什么药，头好晕", IMM, "means_taken"),
        # Sideways wishes and goodbyes.
        ("我就不该被生下来", M, None),
        ("好想变成空气", M, "wish_to_vanish"),
        ("没有我，他们应该会过得更好吧", M, "better_off_dead"),
        ("不想活了，说真的，不是开玩笑", H, None),
        ("以后我的仓鼠就拜托你了，谢谢你陪我这么久", IMM, "final_farewell"),
        ("大家不用挂念我", H, None),
        # Safeguarding said sideways.
        ("又被扒裤子了，全班都在笑", M, "hurt_by_someone"),
        ("我同桌说她家里人打她", M, "peer_hurt"),
        ("教练让我单独去他家，还不让我说出去", M, "secret_contact"),
        # Second set: metaphors, rural means, logistics of leaving.
        ("农药刚喝了一点，嗓子好烫", IMM, "means_taken"),
        ("我已经把所有的药都吃了", IMM, "means_taken"),
        ("我现在在池塘边上，鞋子脱了", IMM, "at_the_place"),
        ("从几楼跳下去才会没命", H, "method_question"),
        ("QQ账号密码都发你了，以后替我好好玩", IMM, "final_farewell"),
        ("日子选好了", H, None),
        ("被几个初三的要钱，不给就挨打", M, "hurt_by_someone"),
        ("我想给自己关机，不是手机是我", H, "ideation_in_earnest"),
        # English: presence, sideways goodbyes, disguised questions.
        (
            "i am on the roof of my building, this is the last time you will hear from me",
            IMM,
            "at_the_place",
        ),
        ("took all of them. cannot keep my eyes open", IMM, "means_taken"),
        ("which floor is high enough that you do not survive", H, "method_question"),
        ("wanna log off for good. not the game. me.", H, "desire_plus_death"),
        ("i tried to end it in middle school", M, None),
        ("i keep thinking about jumping in front of a train", H, None),
        ("再见了，以后不会再见了，谢谢你们对我好", IMM, "final_farewell"),
    ],
)
def test_indirect_risk_is_caught(text: str, expected: RiskLevel, rule: str | None) -> None:
    result = assess(text)
    assert result.level == expected, (text, result.level, rules(text))
    if rule is not None:
        assert rule in rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "我给外婆买了药",  # a bare 药 bought
        "我家在江边，夏天可以看龙舟",  # where someone lives
        "今天最后一条消息了，睡了，晚安",  # today's last message
        "作业多得我想死，写到半夜",  # a degree complement
        "你再剧透我就跟你同归于尽",  # friends' mock threat
        "我从没想过自杀，只是最近有点烦",  # a denial, then everyday stress
        "我的手腕写字写得好酸，好困",  # no bleeding
        "这本书的意义是什么",  # no life or existence in it
        "今天数学课睡着了，被粉笔头砸醒",  # woken up, a classroom joke
        "被妈妈骂了一顿，因为没写作业",  # told off by a parent
        "what is even the point of algebra",  # the point of a subject
        "this is the last time you will hear from me until monday, camping trip",
        "tell my mom sorry i will be late",
        "going to disappear for a week, holiday with family",
        "晚上在楼顶上看烟花，好多人",  # everyday life on a roof
        "手工课要做吊桥模型，我去买了一卷绳子",  # a class project
        "mum let me use the big knife to cut the melon",  # something else is cut
        "我在写小说，主角最后从悬崖上跳下去了",  # a character in a story
        "i'm at the bridge waiting for the bus",  # an everyday reason to be there
        "在桥上等同学 一会儿去打球",
        "my sister says she wants to kill me for reading her diary",  # her wish, not mine
        "牙疼 吃了一片布洛芬",  # a usual dose for an everyday ailment
        "took one ibuprofen for my migraine",
        "my allergy pills are in my bag",  # a bag is everyday
        "你再迟到我就杀了你 哈哈",  # banter with a laugh
    ],
)
def test_look_alikes_stay_below_moderate(text: str) -> None:
    result = assess(text)
    assert result.level < M, (text, result.level, rules(text))


@pytest.mark.parametrize(
    "text",
    ["头疼 想把布洛芬全吃了", "头疼 吃了一整盒布洛芬", "headache so i took the whole bottle"],
)
def test_an_ailment_never_explains_more_than_a_dose(text: str) -> None:
    assert assess(text).level >= RiskLevel.HIGH, text


def test_my_grandmas_medicine_is_about_her_not_the_student() -> None:
    result = assess("我奶奶上周住院了，吃了好多药")
    assert result.level < H
    assert "attempt" not in result.categories


def test_an_attempt_days_ago_is_high_but_last_night_is_still_under_way() -> None:
    assert assess("上周吞了一大把药，没人知道").level == H
    assert assess("昨晚吞了一大把药，没人知道").level == IMM


def test_a_bought_whole_bottle_is_not_a_bottle_taken() -> None:
    result = assess("我买了一整瓶安眠药")
    assert result.level == H
    assert "means_taken" not in rules("我买了一整瓶安眠药")
