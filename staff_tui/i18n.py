"""The words the staff's terminal programs share (queue-window, queue-admin), in Chinese
(the default) and English, and the language they are shown in.

Each program keeps its own words in a `Words` built over these: its own entries win, so a
program can say a shared thing its own way (the window client's "本窗口无权进行此操作").
Error texts are here because the refusal translation (staff_tui.refusals) is shared.
"""

from __future__ import annotations

from typing import Literal, Protocol

Language = Literal["zh", "en"]
Strings = dict[str, dict[Language, str]]

COMMON: Strings = {
    # durations (waits, service times): in words, never like a clock time
    "duration.hours": {"zh": "{h}小时{m}分", "en": "{h} h {m} min"},
    "duration.minutes": {"zh": "{m}分{s}秒", "en": "{m} min {s} s"},
    "duration.seconds": {"zh": "{s}秒", "en": "{s} s"},
    "duration.short.hours": {"zh": "{h}时{m}分", "en": "{h}h{m}m"},
    "duration.short.minutes": {"zh": "{m}分{s}秒", "en": "{m}m{s}s"},
    "duration.short.seconds": {"zh": "{s}秒", "en": "{s}s"},
    # the login screen and the app (staff_tui.login, staff_tui.app)
    "login.server": {"zh": "服务器地址", "en": "Server address"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Log in"},
    "login.connecting": {"zh": "正在连接 {url} …", "en": "Connecting to {url} …"},
    "login.bad_address": {
        "zh": "服务器地址无效：{url}（应为 ws://主机:端口 或 wss://主机:端口）",
        "en": "Invalid server address: {url} (expected ws://host:port or wss://host:port)",
    },
    "login.unreachable": {
        "zh": "无法连接服务器 {url}：请检查地址和网络",
        "en": "Cannot reach the server at {url}: check the address and the network",
    },
    "login.stopped": {"zh": "连接已终止：{detail}", "en": "The connection ended: {detail}"},
    "help.quit_title": {"zh": "要退出吗？", "en": "Quit?"},
    # the dialogs' buttons (staff_tui.dialogs)
    "act.ok": {"zh": "确定", "en": "OK"},
    "act.cancel": {"zh": "取消", "en": "Cancel"},
    # connection
    "conn.online": {"zh": "● 已连接", "en": "● Online"},
    "conn.offline": {
        "zh": "✖ 连接中断，正在重连（{retry:.1f} 秒后重试）…",
        "en": "✖ Connection lost, reconnecting (next try in {retry:.1f} s)…",
    },
    "conn.back": {"zh": "已重新连接", "en": "Reconnected"},
    # window states
    "state.closed": {"zh": "关闭", "en": "Closed"},
    "state.idle": {"zh": "空闲", "en": "Idle"},
    "state.calling": {"zh": "呼叫中", "en": "Calling"},
    "state.serving": {"zh": "办理中", "en": "Serving"},
    "state.paused": {"zh": "暂停", "en": "Paused"},
    "state.offline": {"zh": "离线", "en": "Offline"},
    "ticket.state.waiting": {"zh": "等候", "en": "waiting"},
    "ticket.state.called": {"zh": "已呼叫", "en": "called"},
    "ticket.state.serving": {"zh": "办理中", "en": "serving"},
    "ticket.state.done": {"zh": "已办结", "en": "done"},
    "ticket.state.no_show": {"zh": "过号", "en": "no-show"},
    "ticket.state.cancelled": {"zh": "已取消", "en": "cancelled"},
    "ticket.state.expired": {"zh": "已过期", "en": "expired"},
    "prio.normal": {"zh": "普通", "en": "Normal"},
    "prio.appointment": {"zh": "预约", "en": "Appointment"},
    "prio.green": {"zh": "绿色通道", "en": "Green channel"},
    "prio.assisted": {"zh": "帮办代办", "en": "Assisted"},
    "error.title": {"zh": "服务器拒绝了操作", "en": "The server refused"},
    # error replies: the text comes from the code and the reply's structured fields
    "error.auth_failed": {"zh": "账号或密码错误", "en": "Wrong account or password"},
    "error.account_disabled": {
        "zh": "该账号已停用，请联系管理员",
        "en": "This account is disabled; ask an administrator",
    },
    "error.account_locked": {
        "zh": "密码错误次数过多，账号已锁定至 {time}",
        "en": "Too many wrong passwords: the account is locked until {time}",
    },
    "error.account_locked_plain": {
        "zh": "密码错误次数过多，账号已暂时锁定",
        "en": "Too many wrong passwords: the account is locked for now",
    },
    "error.login_backoff": {
        "zh": "登录失败次数过多，请 {s} 秒后再试",
        "en": "Too many failed logins: try again in {s} s",
    },
    "error.login_busy": {
        "zh": "服务器正忙于处理其他登录，请稍后再试",
        "en": "The server is busy with other logins; try again in a moment",
    },
    "error.rate_limited": {
        "zh": "操作过于频繁，请 {s} 秒后再试",
        "en": "Too many requests: try again in {s} s",
    },
    "error.rate_limited_plain": {
        "zh": "操作过于频繁，请稍后再试",
        "en": "Too many requests; try again in a moment",
    },
    "error.staff_elsewhere": {
        "zh": "该账号已在{window}号窗口登录，请先在该窗口关窗退出",
        "en": "This account is logged in at window {window}; close that window first",
    },
    "error.staff_elsewhere_ticket": {
        "zh": "该账号在{window}号窗口还有未办完的票，请先在该窗口办结或转移",
        "en": "This account still holds a ticket at window {window}; finish or transfer it there",
    },
    "error.staff_elsewhere_plain": {
        "zh": "该账号已在其他窗口工作",
        "en": "This account works at another window",
    },
    "error.window_taken": {
        "zh": "{window}号窗口已被他人登录（{staff}）",
        "en": "Window {window} is in use by someone else ({staff})",
    },
    "error.window_taken_ticket": {
        "zh": "{window}号窗口还有{staff}未办完的票，请联系值班主任关闭该窗口",
        "en": "Window {window} still holds a ticket of {staff}; a supervisor must close it",
    },
    "error.someone": {"zh": "其他工作人员", "en": "another staff member"},
    "error.no_window": {"zh": "窗口 {window} 不存在", "en": "Window {window} does not exist"},
    "error.no_ticket": {"zh": "今日没有票号 {ticket}", "en": "There is no ticket {ticket} today"},
    "error.no_category": {
        "zh": "没有业务类别 {category}",
        "en": "There is no category {category}",
    },
    "error.no_hall": {
        "zh": "服务器上没有大厅“{hall}”；请用 --hall 选对大厅",
        "en": "The server has no hall '{hall}'; choose the right one with --hall",
    },
    "error.hall_needed": {
        "zh": "该服务器服务多个大厅（{halls}）；请用 --hall 选择本窗口所在的大厅",
        "en": "This server serves several halls ({halls}); choose this window's with --hall",
    },
    "error.not_found": {
        "zh": "找不到要办理的对象，可能已变更",
        "en": "Not found: it may have changed meanwhile",
    },
    "error.invalid_state": {
        "zh": "当前状态为「{state}」，不能进行此操作",
        "en": "Not possible now: the state is “{state}”",
    },
    "error.invalid_state_plain": {
        "zh": "当前状态下不能进行此操作",
        "en": "Not possible in the current state",
    },
    "error.day_closed": {
        "zh": "{ticket} 属于已结束的一天，不能恢复，请群众重新取号",
        "en": "{ticket} belongs to a day already closed; the citizen needs a new ticket",
    },
    "error.cancel_not_waiting": {
        "zh": "{ticket} 的状态为「{state}」，只能作废等候中的票",
        "en": "{ticket} is “{state}”: only a waiting ticket can be voided",
    },
    "error.rated": {"zh": "该票已评价过", "en": "This ticket is already rated"},
    "error.not_served_here": {
        "zh": "该票不是在本窗口办理的",
        "en": "That ticket was not served at this window",
    },
    "error.queue_empty": {"zh": "没有等候的票", "en": "Nobody is waiting"},
    "error.hall_closed": {"zh": "大厅现在不办理业务", "en": "The hall is closed now"},
    "error.past_closing": {
        "zh": "预计等候将超过今日下班时间 {time}",
        "en": "The expected wait runs past today's closing time {time}",
    },
    "error.capacity_reached": {
        "zh": "今日该类业务已达取号上限",
        "en": "Today's capacity for this category is used up",
    },
    "error.internal": {
        "zh": "服务器内部错误，操作未执行",
        "en": "A server fault: nothing was done",
    },
    "error.other": {
        "zh": "服务器拒绝了请求（代码 {code}）",
        "en": "The server refused the request (code {code})",
    },
    "error.offline": {
        "zh": "连接中断，操作将在重连后完成",
        "en": "Offline; retrying after reconnect",
    },
    "error.unexpected": {"zh": "操作失败：{detail}", "en": "The action failed: {detail}"},
    "minutes": {"zh": "{m} 分钟", "en": "{m} min"},
    # the same refusals, said neutrally; a program may word them for its users
    "error.forbidden": {"zh": "无权进行此操作", "en": "Not allowed"},
    "error.version_mismatch": {
        "zh": "客户端与服务器的协议版本不符，请更新客户端",
        "en": "The client and the server speak different protocol versions: update the client",
    },
    "error.not_for_window": {
        "zh": "{ticket} 不属于该窗口办理的业务",
        "en": "{ticket} is not for that window",
    },
    "error.window_taken_plain": {
        "zh": "该窗口已在别处登录",
        "en": "That window is logged in elsewhere",
    },
}

_language: Language = "zh"


def set_language(language: Language) -> None:
    global _language
    _language = language


def language() -> Language:
    return _language


class Translate(Protocol):
    def __call__(self, key: str, /, **fields: object) -> str: ...


class Words:
    """One program's words over the shared ones; calling it formats one in the language
    chosen (the key itself if unknown)."""

    def __init__(self, own: Strings) -> None:
        self.strings: Strings = {**COMMON, **own}

    def __call__(self, key: str, /, **fields: object) -> str:
        entry = self.strings.get(key)
        if entry is None:
            return key
        text = entry[_language]
        return text.format(**fields) if fields else text


def duration(seconds: float, t: Translate, *, short: bool = False) -> str:
    """A human duration in words, e.g. 7分05秒 / 7 min 05 s, 1小时02分 / 1 h 02 min
    (never negative); `short` for table columns: 7分05秒 / 7m05s. Not 7:05, which reads as
    a time of day."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    form = "duration.short." if short else "duration."
    if hours:
        return t(form + "hours", h=hours, m=f"{minutes:02d}")
    if minutes:
        return t(form + "minutes", m=minutes, s=f"{secs:02d}")
    return t(form + "seconds", s=secs)
