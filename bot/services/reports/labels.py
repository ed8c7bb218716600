"""The words of the file, the watch list and the reports, in Chinese and English.

Counselor- and district-facing text, kept out of the renderers so both languages stay in step
(a test checks that every key has both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Lang = Literal["zh", "en"]

TEXTS: Mapping[str, tuple[str, str]] = {
    # report frame
    "report.school": ("学校心理健康周报", "Weekly school mental-health report"),
    "report.district": ("区心理健康周报", "Weekly district mental-health report"),
    "report.week": ("周次", "Week"),
    "report.zone": ("时区", "Time zone"),
    "report.generated": ("生成时间", "Generated"),
    "report.this": ("本周", "This week"),
    "report.last": ("上周", "Last week"),
    "report.figure": ("指标", "Figure"),
    "report.suppressed": (
        "* 已隐去：少于 {k} 名学生，或可由合计推算出这样的数字。",
        "* suppressed: fewer than {k} students, or a figure that would reveal one by subtraction.",
    ),
    "report.no_names": ("本报告不含任何学生姓名。", "This report names no student."),
    "report.confidential": (
        "内部资料：含未成年人健康信息的汇总数据，请勿外传。",
        "Confidential: aggregates of minors' health data. Do not pass on.",
    ),
    "section.checkins": ("一、每周心理检查", "1. Weekly check-ins"),
    "section.screening": ("二、筛查结果", "2. Screening results"),
    "section.green": ("三、绿色通道与随访", "3. Green channel and follow-up"),
    "section.schools": ("各校概况", "By school"),
    "grade": ("年级", "Grade"),
    "grade.n": ("{n} 年级", "Grade {n}"),
    "grade.none": ("年级未知", "Grade unknown"),
    "school": ("学校", "School"),
    "school.none": ("未关联学校（匿名）", "No school (anonymous)"),
    "total": ("合计", "Total"),
    "invited": ("已邀请", "Invited"),
    "started": ("已开始", "Started"),
    "completed": ("已完成", "Completed"),
    "phq.screened": ("完成 PHQ 筛查的学生", "Students screened (PHQ)"),
    "phq.negative_screen": ("PHQ-2 阴性（未做全表）", "PHQ-2 negative (no full form)"),
    "phq.minimal": ("PHQ-9 极轻 (0–4)", "PHQ-9 minimal (0–4)"),
    "phq.mild": ("PHQ-9 轻度 (5–9)", "PHQ-9 mild (5–9)"),
    "phq.moderate": ("PHQ-9 中度 (10–14)", "PHQ-9 moderate (10–14)"),
    "phq.moderately_severe": ("PHQ-9 中重度 (15–19)", "PHQ-9 moderately severe (15–19)"),
    "phq.severe": ("PHQ-9 重度 (20–27)", "PHQ-9 severe (20–27)"),
    "phq.unscored": ("PHQ 未能计分", "PHQ unscored"),
    "gad.screened": ("完成 GAD 筛查的学生", "Students screened (GAD)"),
    "gad.negative_screen": ("GAD-2 阴性（未做全表）", "GAD-2 negative (no full form)"),
    "gad.minimal": ("GAD-7 极轻 (0–4)", "GAD-7 minimal (0–4)"),
    "gad.mild": ("GAD-7 轻度 (5–9)", "GAD-7 mild (5–9)"),
    "gad.moderate": ("GAD-7 中度 (10–14)", "GAD-7 moderate (10–14)"),
    "gad.severe": ("GAD-7 重度 (15–21)", "GAD-7 severe (15–21)"),
    "gad.unscored": ("GAD 未能计分", "GAD unscored"),
    "asq.positive": ("ASQ 阳性（学生）", "ASQ positive screens (students)"),
    "asq.acute": ("其中急性阳性", "of which acute"),
    "asq.non_acute": ("其中非急性阳性", "of which non-acute"),
    "flags.students": ("风险识别提示（学生）", "Detector flags (students)"),
    "flags.moderate": ("中风险", "moderate"),
    "flags.high": ("高风险", "high"),
    "flags.imminent": ("紧急", "imminent"),
    "marks.cases": ("识别提示所开个案", "Cases opened by the detector"),
    "marks.confirmed": ("咨询师确认有风险", "confirmed by a counselor"),
    "marks.false_alarm": ("咨询师判定误报", "dismissed as a false alarm"),
    "marks.unmarked": ("尚未标记", "not yet marked"),
    "cases.total": ("绿色通道个案", "Green-channel cases"),
    "cases.routine": ("常规", "routine"),
    "cases.urgent": ("紧急", "urgent"),
    "cases.emergency": ("危急", "emergency"),
    "ack.done": ("已有人确认", "acknowledged by a person"),
    "ack.waiting": ("尚无人确认", "not yet acknowledged"),
    "ack.median": ("首次人工确认用时（中位数）", "Time to first human acknowledgement (median)"),
    "ack.p90": ("首次人工确认用时（P90）", "Time to first human acknowledgement (p90)"),
    "timeouts": ("因确认超时而升级的个案", "Cases escalated after an acknowledgement timeout"),
    "overdue.follow_ups": ("逾期未随访的个案", "Overdue follow-ups"),
    "overdue.referrals": ("逾期未结的转介", "Overdue referrals"),
    "consent.missing": ("未满 14 岁且缺监护人同意", "Under-14s missing guardian consent"),
    "failures.reminders": ("提醒未送达（学生）", "Reminders not delivered (students)"),
    "failures.alerts": ("预警消息发送失败", "Alerts that failed to send"),
    "minutes": ("{n} 分钟", "{n} min"),
    "chart.checkins": ("各年级检查情况", "Check-ins by grade"),
    "chart.phq": ("PHQ 严重程度分布", "PHQ severity bands"),
    "chart.gad": ("GAD 严重程度分布", "GAD severity bands"),
    "chart.cases": ("绿色通道个案（按优先级）", "Green-channel cases by priority"),
    # the student's file
    "file.title": ("学生心理健康档案", "Student mental-health file"),
    "file.student": ("学生", "Student"),
    "file.number": ("学号", "Student number"),
    "file.class": ("班级", "Class"),
    "file.status": ("状态", "Status"),
    "file.consent": ("知情同意", "Consent"),
    "file.guardian": ("监护人同意", "Guardian consent"),
    "file.yes": ("有", "yes"),
    "file.no": ("无", "no"),
    "file.needed": ("需要（未满 14 岁）", "needed (under 14)"),
    "file.checkins": ("检查记录", "Check-in history"),
    "file.trend": ("分数趋势", "Score trends"),
    "file.cases": ("个案", "Cases"),
    "file.plan": ("安全计划", "Safety plan"),
    "file.plan_hidden": (
        "已有安全计划（仅负责该生的咨询师可查看内容）",
        "A safety plan exists (only a counselor responsible for the student may read it)",
    ),
    "file.plan_none": ("暂无安全计划", "No safety plan"),
    "file.reminders": ("提醒", "Reminders"),
    "file.sent": ("已发送", "sent"),
    "file.missed": ("未回应", "missed"),
    "file.when": ("时间", "When"),
    "file.instrument": ("量表", "Instrument"),
    "file.score": ("分数", "Score"),
    "file.band": ("等级", "Band"),
    "file.viewed": ("本次查阅已记录", "This view is recorded"),
    "file.referrals": ("转介", "Referrals"),
    "file.outcome": ("结果", "Outcome"),
    "file.mark": ("咨询师标记", "Counselor's mark"),
    "file.none": ("无", "none"),
    "file.priority": ("优先级", "Priority"),
    "file.reason": ("原因", "Reason"),
    "file.opened": ("开案", "Opened"),
    "file.closed": ("结案", "Closed"),
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The text for ``key`` in ``lang``, with ``{name}`` filled in."""
    zh, en = TEXTS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text
