"""What the kiosk says, in Chinese (default) and English (SPEC §9)."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Any, ClassVar

from queue_protocol.messages import Priority, TicketState

LANGUAGES = ("zh", "en")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "connecting": "正在连接服务器…",
        "offline": "网络连接中断，正在重新连接…",
        "refused": "服务器拒绝了本机（{code}），请联系管理员。",
        "choose_category": "请选择您要办理的业务",
        "waiting_n": "等候 {n} 人",
        "paused": "暂停取号",
        "check_in": "预约签到",
        "language": "English",
        "back": "返回",
        "admin_title": "管理员退出",
        "admin_pin": "请输入管理员密码",
        "admin_wrong": "密码不正确",
        "admin_exit": "退出取号机",
        "done": "完成",
        "retry": "重试",
        "reprint": "重新打印",
        "choose_item": "请选择办理事项（可不选）",
        "no_item": "不指定事项",
        "materials": "所需材料",
        "no_materials": "请选择事项查看所需材料。",
        "choose_priority": "请选择取号方式",
        "priority.normal": "普通取号",
        "priority.green": "绿色通道",
        "priority.assisted": "帮办代办",
        "priority.appointment": "预约",
        "green_title": "绿色通道",
        "green_text": (
            "绿色通道服务对象：老年人、残疾人、现役军人及军属、孕妇等。\n"
            "请确认您属于以上人员，窗口将查验相关证件。"
        ),
        "green_confirm": "我确认符合条件",
        "ticket_title": "您的号码",
        "ticket_ahead": "前面还有 {n} 人等候",
        "ticket_wait": "预计等候约 {m} 分钟",
        "ticket_time": "取号时间 {t}",
        "ticket_hint": "请留意叫号屏幕和语音提示，过号请到窗口重新排队。",
        "ticket_appointment": "预约号：预约时段开始后优先叫号",
        "ticket_late": "您已超过预约签到时间，已为您取普通号。",
        "ticket_again": "您已签到，这是您之前取得的号码。",
        "ticket_chain": "一链办理 共{steps}步，第{step}步：{name}",
        "ticket_state": "号票状态：{state}",
        "ticket_final": "这张号票已经结束，如需办理请重新取号。",
        "state.waiting": "等候中",
        "state.called": "正在呼叫，请到窗口办理",
        "state.serving": "正在办理",
        "state.done": "已办结",
        "state.no_show": "已过号",
        "state.cancelled": "已取消",
        "state.expired": "已过期（当天已结束）",
        "returning": "{s} 秒后自动返回首页",
        "printing": "正在打印…",
        "printed": "请取走打印的号票。",
        "screen_only": "请记住您的号码（本机不打印号票）。",
        "print_failed": "打印失败：{error}。号码已取到，请记下屏幕上的号码或拍照。",
        "closed_title": "暂停取号",
        "closed": "现在不是办公时间，暂停取号。请在办公时间内再来。",
        "past_closing": (
            "预计等候约 {m} 分钟，超过了今天的下班时间 {time}，今天不再取号。请明天再来。"
        ),
        "past_closing_plain": "预计等候时间已超过今天的下班时间，今天不再取号。请明天再来。",
        "capacity": "今天“{category}”的号已经取完。请明天再来，或通过预约办理。",
        "capacity_plain": "今天的号已经取完。请明天再来，或通过预约办理。",
        "issuing_paused": "“{category}”暂停取号。请咨询导办台工作人员，或通过预约办理。",
        "issuing_paused_plain": "该业务暂停取号。请咨询导办台工作人员，或通过预约办理。",
        "too_early": "还没到签到时间。请于 {time} 以后再来签到。",
        "too_early_day": "还没到签到时间。请于 {date} {time} 以后再来签到。",
        "too_early_plain": "还没到签到时间，请稍后再来签到。",
        "wrong_code": "没有找到这个签到码，请核对后重新输入。",
        "cancelled_code": "这个预约已经取消，请直接取号。",
        "missed_code": "这个预约的时间已经过了，请重新预约或直接取号。",
        "used_code": "这个预约已经签到办理过（{number}，{state}），如需办理请重新取号。",
        "invalid_code": "这个签到码现在不能签到，请到咨询台询问。",
        "changed_choice": "这项业务刚刚有调整，请重新选择。",
        "busy": "现在取号的人较多，请稍候再试。",
        "error": "暂时无法办理（代码 {code}），请到咨询台询问。",
        "error_title": "暂时无法办理",
        "network": "网络故障，未能取号。请点击“重试”（不会重复取号）。",
        "check_in_title": "预约签到",
        "check_in_prompt": "请输入预约时收到的 6 位签到码",
        "check_in_submit": "签到",
        "delete": "删除",
        "clock": "%Y年%m月%d日 %H:%M",
        "minutes": "分钟",
        "book": "预约",
        "book_title": "预约办理",
        "book_category": "请选择要预约的业务",
        "book_item": "请选择预约的办理事项（可不选）",
        "book_day": "请选择预约日期",
        "book_slot": "请选择预约时段",
        "book_details": "请填写预约人的姓名和手机号码",
        "book_confirm": "请核对预约信息",
        "book_name": "姓名",
        "book_phone": "手机号码",
        "book_phone_hint": "11位手机号码",
        "book_submit": "确认预约",
        "next": "下一步",
        "name_missing": "请输入姓名。",
        "phone_invalid": "请输入正确的11位手机号码（以1开头）。",
        "today": "今天",
        "free_n": "余 {n} 位",
        "full": "已约满",
        "no_slots": "无可约时段",
        "summary_what": "业务",
        "summary_when": "时间",
        "summary_name": "姓名",
        "summary_phone": "手机",
        "booked_title": "预约成功",
        "code_label": "签到码",
        "booked_code": "签到码 {code}",
        "booked_phone": "手机 {phone}",
        "booked_hint": "请按预约时间来大厅，在取号机上点“预约签到”，输入签到码取号。",
        "slip_title": "预约凭条",
        "slip_printed": "请取走预约凭条。",
        "slip_screen_only": "请记下您的签到码（本机不打印凭条）。",
        "slip_failed": "打印失败：{error}。预约已成功，请记下屏幕上的签到码或拍照。",
        "no_booking": "近几天没有可以预约的业务，请直接取号。",
        "slot_taken": "您选的时段刚刚约满，请另选时段。",
        "slot_unavailable": "这个时段现在不能预约，请另选时段。",
        "day_closed": "{date} 大厅不办公，不能预约，请另选日期。",
        "book_network": "网络故障，预约未完成。请点击“重试”（不会重复预约）。",
        "weekday.0": "周一",
        "weekday.1": "周二",
        "weekday.2": "周三",
        "weekday.3": "周四",
        "weekday.4": "周五",
        "weekday.5": "周六",
        "weekday.6": "周日",
    },
    "en": {
        "connecting": "Connecting to the server…",
        "offline": "Connection lost; reconnecting…",
        "refused": "The server refused this kiosk ({code}). Please call an administrator.",
        "choose_category": "Please choose a service",
        "waiting_n": "{n} waiting",
        "paused": "not issuing now",
        "check_in": "Appointment check-in",
        "language": "中文",
        "back": "Back",
        "admin_title": "Administrator exit",
        "admin_pin": "Administrator PIN",
        "admin_wrong": "Wrong PIN",
        "admin_exit": "Exit the kiosk",
        "done": "Done",
        "retry": "Retry",
        "reprint": "Print again",
        "choose_item": "Choose a service item (optional)",
        "no_item": "No specific item",
        "materials": "Documents to bring",
        "no_materials": "Choose an item to see the documents it needs.",
        "choose_priority": "How would you like to queue?",
        "priority.normal": "Regular ticket",
        "priority.green": "Green channel",
        "priority.assisted": "Assisted service",
        "priority.appointment": "Appointment",
        "green_title": "Green channel",
        "green_text": (
            "The green channel is for elderly and disabled people, service members and their\n"
            "families, and pregnant women. Please confirm you qualify; the window will check."
        ),
        "green_confirm": "I confirm I qualify",
        "ticket_title": "Your number",
        "ticket_ahead": "{n} people ahead of you",
        "ticket_wait": "Estimated wait about {m} min",
        "ticket_time": "Issued {t}",
        "ticket_hint": "Watch the call screen and listen for your number.",
        "ticket_appointment": "Appointment ticket: called first once your slot begins",
        "ticket_late": "You are past your appointment's check-in time; this is a regular ticket.",
        "ticket_again": "You have already checked in; this is your ticket.",
        "ticket_chain": "One-chain service: {steps} steps, step {step}: {name}",
        "ticket_state": "Ticket status: {state}",
        "ticket_final": "This ticket is finished; please take a new one if you need service.",
        "state.waiting": "waiting",
        "state.called": "called: please go to the window",
        "state.serving": "being served",
        "state.done": "done",
        "state.no_show": "missed (no-show)",
        "state.cancelled": "cancelled",
        "state.expired": "expired (its day has ended)",
        "returning": "Back to the start in {s} s",
        "printing": "Printing…",
        "printed": "Please take your printed ticket.",
        "screen_only": "Please remember your number (this kiosk does not print).",
        "print_failed": (
            "Printing failed: {error}. Your ticket is issued; please note or photograph the number."
        ),
        "closed_title": "No tickets now",
        "closed": "The hall is closed. Please come back during opening hours.",
        "past_closing": (
            "The expected wait (about {m} min) runs past today's closing time, {time}, so no "
            "more tickets are issued today. Please come back tomorrow."
        ),
        "past_closing_plain": (
            "The expected wait runs past today's closing time, so no more tickets are issued "
            "today. Please come back tomorrow."
        ),
        "capacity": "All of today's tickets for {category} have been taken. Please come back "
        "tomorrow or book an appointment.",
        "capacity_plain": "All of today's tickets have been taken. Please come back tomorrow "
        "or book an appointment.",
        "issuing_paused": "No tickets for {category} are issued now. Please ask at the "
        "information desk, or book an appointment.",
        "issuing_paused_plain": "No tickets for this service are issued now. Please ask at the "
        "information desk, or book an appointment.",
        "too_early": "Check-in is not open yet. Please come back after {time}.",
        "too_early_day": "Check-in is not open yet. Please come back after {time} on {date}.",
        "too_early_plain": "Check-in is not open yet. Please come back later.",
        "wrong_code": "No appointment has this code. Please check it and try again.",
        "cancelled_code": "This appointment was cancelled. Please take a regular ticket.",
        "missed_code": "This appointment's time has passed. Please book again or take a "
        "regular ticket.",
        "used_code": "This appointment was already used (ticket {number}, {state}). Please "
        "take a new ticket if you need one.",
        "invalid_code": "This code cannot be checked in now. Please ask at the information desk.",
        "changed_choice": "This service has just changed. Please choose again.",
        "busy": "Many people are taking tickets right now. Please try again in a moment.",
        "error": "This cannot be done now (code {code}). Please ask at the information desk.",
        "error_title": "Cannot do this now",
        "network": "Network problem: no ticket was issued. Press Retry (you will not get two).",
        "check_in_title": "Appointment check-in",
        "check_in_prompt": "Enter the 6-character code you received when booking",
        "check_in_submit": "Check in",
        "delete": "Delete",
        "clock": "%Y-%m-%d %H:%M",
        "minutes": "min",
        "book": "Book an appointment",
        "book_title": "Book an appointment",
        "book_category": "Which service would you like to book?",
        "book_item": "Choose the service item (optional)",
        "book_day": "Choose a day",
        "book_slot": "Choose a time",
        "book_details": "Your name and mobile phone number",
        "book_confirm": "Please check your appointment",
        "book_name": "Name",
        "book_phone": "Mobile",
        "book_phone_hint": "11-digit mobile number",
        "book_submit": "Book it",
        "next": "Next",
        "name_missing": "Please enter your name.",
        "phone_invalid": "Please enter a valid 11-digit mobile number (starting with 1).",
        "today": "Today",
        "free_n": "{n} free",
        "full": "Full",
        "no_slots": "No times left",
        "summary_what": "Service",
        "summary_when": "Time",
        "summary_name": "Name",
        "summary_phone": "Mobile",
        "booked_title": "Appointment booked",
        "code_label": "Check-in code",
        "booked_code": "Check-in code {code}",
        "booked_phone": "Mobile {phone}",
        "booked_hint": "Come to the hall at your time; at a kiosk press Appointment check-in and "
        "enter the code.",
        "slip_title": "Appointment slip",
        "slip_printed": "Please take your appointment slip.",
        "slip_screen_only": "Please note your check-in code (this kiosk does not print).",
        "slip_failed": (
            "Printing failed: {error}. Your appointment is booked; please note or photograph "
            "the code."
        ),
        "no_booking": "No service can be booked in the next few days. Please take a ticket.",
        "slot_taken": "The time you chose has just been fully booked. Please choose another.",
        "slot_unavailable": "That time can no longer be booked. Please choose another.",
        "day_closed": "The hall is closed on {date}. Please choose another day.",
        "book_network": "Network problem: the appointment was not completed. Press Retry (you "
        "will not book twice).",
        "weekday.0": "Mon",
        "weekday.1": "Tue",
        "weekday.2": "Wed",
        "weekday.3": "Thu",
        "weekday.4": "Fri",
        "weekday.5": "Sat",
        "weekday.6": "Sun",
    },
}


class Words:
    """A device's words (`TABLE`, by language) in one language: `t("ticket_ahead", n=3)`;
    a key without an English text is said in Chinese. The kiosk's and the rating pad's."""

    TABLE: ClassVar[dict[str, dict[str, str]]]

    def __init__(self, lang: str = "zh") -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r}: choose one of {', '.join(LANGUAGES)}")
        self.lang = lang

    def __call__(self, key: str, **values: Any) -> str:
        text = self.TABLE[self.lang].get(key) or self.TABLE["zh"][key]
        return text.format(**values) if values else text


class Texts(Words):
    """The kiosk's words in its current language."""

    TABLE = _TEXTS

    def priority(self, priority: Priority) -> str:
        return self(f"priority.{priority.value}")

    def state(self, state: TicketState) -> str:
        return self(f"state.{state.value}")

    def date(self, day: date) -> str:
        """A day as people write it: 11月26日, or 2026-11-26 in English."""
        return f"{day.month}月{day.day}日" if self.lang == "zh" else day.isoformat()

    def weekday(self, day: dt.date) -> str:
        return self(f"weekday.{day.weekday()}")

    def day(self, day: dt.date, today: dt.date | None = None) -> str:
        """A day to choose or to come on: 11月26日 周四 (今天 for today), Thu 26 Nov."""
        name = self("today") if day == today else self.weekday(day)
        if self.lang == "zh":
            return f"{day.month}月{day.day}日 {name}"
        return f"{name} {day.day} {MONTHS[day.month - 1]}"
