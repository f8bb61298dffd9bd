"""The client's words in Chinese (default) and English; `t(key, **fields)` formats one."""

from __future__ import annotations

from typing import Literal

Language = Literal["zh", "en"]

STRINGS: dict[str, dict[Language, str]] = {
    "app.title": {"zh": "一窗 · 窗口工作台", "en": "Yichuang · window desk"},
    # login
    "login.heading": {"zh": "窗口登录", "en": "Window login"},
    "login.server": {"zh": "服务器地址", "en": "Server address"},
    "login.window": {"zh": "窗口号", "en": "Window number"},
    "login.account": {"zh": "工作人员账号", "en": "Staff account"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Log in"},
    "login.connecting": {"zh": "正在连接 {url} …", "en": "Connecting to {url} …"},
    "login.need_all": {
        "zh": "请填写服务器地址、窗口号、账号和密码",
        "en": "Fill in the server, window number, account and password",
    },
    "login.bad_window": {"zh": "窗口号须为 1–9999 的数字", "en": "A window number is 1–9999"},
    "login.auth_failed": {"zh": "账号或密码错误", "en": "Wrong account or password"},
    "login.unknown_window": {"zh": "窗口 {window} 不存在", "en": "Window {window} does not exist"},
    "login.window_taken": {
        "zh": "该窗口已被他人登录：{detail}",
        "en": "This window is taken by someone else: {detail}",
    },
    "login.unreachable": {
        "zh": "无法连接服务器 {url}：请检查地址和网络",
        "en": "Cannot reach the server at {url}: check the address and the network",
    },
    "login.bad_address": {
        "zh": "服务器地址无效：{detail}",
        "en": "Invalid server address: {detail}",
    },
    "login.version": {
        "zh": "客户端与服务器版本不符：{detail}",
        "en": "Client and server versions differ: {detail}",
    },
    "login.refused": {"zh": "登录被拒绝：{detail}", "en": "Login refused: {detail}"},
    "login.logged_out": {"zh": "已关闭窗口并退出登录", "en": "Window closed, logged out"},
    "login.stopped": {"zh": "连接已终止：{detail}", "en": "The connection ended: {detail}"},
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
    "ticket.state.waiting": {"zh": "等候", "en": "waiting"},
    "ticket.state.called": {"zh": "已呼叫", "en": "called"},
    "ticket.state.serving": {"zh": "办理中", "en": "serving"},
    "ticket.state.done": {"zh": "已办结", "en": "done"},
    "ticket.state.no_show": {"zh": "过号", "en": "no-show"},
    "ticket.state.cancelled": {"zh": "已取消", "en": "cancelled"},
    # work screen
    "work.window": {"zh": "{name}（{number}号窗口）", "en": "{name} (window {number})"},
    "work.staff": {"zh": "工作人员：{name}", "en": "Staff: {name}"},
    "work.no_ticket": {"zh": "当前无票", "en": "No ticket"},
    "work.paused": {"zh": "窗口暂停：{reason}", "en": "Window paused: {reason}"},
    "work.hint_idle": {"zh": "按 N 呼叫下一位", "en": "Press N to call the next ticket"},
    "ticket.category": {"zh": "业务类别", "en": "Category"},
    "ticket.item": {"zh": "办理事项", "en": "Service item"},
    "ticket.waited": {"zh": "已等候", "en": "Waited"},
    "ticket.since_called": {"zh": "呼叫后", "en": "Since called"},
    "ticket.serving_for": {"zh": "已办理", "en": "Serving for"},
    "ticket.recalls": {"zh": "重呼次数", "en": "Recalls"},
    "ticket.transfers": {"zh": "转移记录", "en": "Transfers"},
    "ticket.transfer_line": {
        "zh": "{at} {src} → {dst}：{reason}",
        "en": "{at} {src} → {dst}: {reason}",
    },
    "ticket.window_n": {"zh": "{n}号窗口", "en": "window {n}"},
    "ticket.none": {"zh": "—", "en": "—"},
    "prio.normal": {"zh": "普通", "en": "Normal"},
    "prio.appointment": {"zh": "预约", "en": "Appointment"},
    "prio.green": {"zh": "绿色通道", "en": "Green channel"},
    "prio.assisted": {"zh": "帮办代办", "en": "Assisted"},
    # queue panel
    "queue.heading": {"zh": "本窗口排队情况", "en": "Queue for this window"},
    "queue.category": {"zh": "类别", "en": "Category"},
    "queue.waiting": {"zh": "等候", "en": "Waiting"},
    "queue.longest": {"zh": "最长等候", "en": "Longest"},
    "queue.target": {"zh": "目标", "en": "Target"},
    "today.heading": {"zh": "今日本窗口", "en": "Today at this window"},
    "today.served": {"zh": "已办结 {n}", "en": "Served {n}"},
    "today.no_shows": {"zh": "过号 {n}", "en": "No-shows {n}"},
    "today.mean": {"zh": "平均办理 {t}", "en": "Mean service {t}"},
    # actions
    "act.call_next": {"zh": "叫号", "en": "Call next"},
    "act.recall": {"zh": "重呼", "en": "Recall"},
    "act.start": {"zh": "开始办理", "en": "Start"},
    "act.finish": {"zh": "办结", "en": "Finish"},
    "act.no_show": {"zh": "过号", "en": "No-show"},
    "act.transfer": {"zh": "转移", "en": "Transfer"},
    "act.call_number": {"zh": "指定叫号", "en": "Call number"},
    "act.reinstate": {"zh": "恢复过号", "en": "Reinstate"},
    "act.pause": {"zh": "暂停", "en": "Pause"},
    "act.resume": {"zh": "恢复服务", "en": "Resume"},
    "act.close": {"zh": "关窗退出", "en": "Close & log out"},
    "act.ok": {"zh": "确定", "en": "OK"},
    "act.cancel": {"zh": "取消", "en": "Cancel"},
    "act.quit": {"zh": "退出程序", "en": "Quit"},
    # dialogs
    "transfer.heading": {"zh": "转移 {number}", "en": "Transfer {number}"},
    "transfer.to_category": {"zh": "转到业务类别", "en": "To a category"},
    "transfer.to_window": {"zh": "转到指定窗口", "en": "To a named window"},
    "transfer.reason": {"zh": "转移原因", "en": "Reason"},
    "transfer.need_target": {"zh": "请选择目标类别或窗口", "en": "Choose a category or window"},
    "transfer.need_reason": {"zh": "请填写转移原因", "en": "Give a reason"},
    "pause.heading": {"zh": "暂停窗口", "en": "Pause the window"},
    "pause.reason": {"zh": "暂停原因", "en": "Reason"},
    "pause.presets": {
        "zh": "午间轮休,业务学习,临时离开",
        "en": "Lunch break,Training,Away briefly",
    },
    "pause.need_reason": {"zh": "请填写暂停原因", "en": "Give a reason"},
    "callnum.heading": {"zh": "指定叫号", "en": "Call a specific number"},
    "callnum.number": {"zh": "票号，如 A005", "en": "Ticket number, e.g. A005"},
    "callnum.need_number": {"zh": "请输入票号", "en": "Enter a ticket number"},
    "reinstate.heading": {"zh": "恢复过号票", "en": "Reinstate a no-show"},
    "reinstate.line": {
        "zh": "{number}  {category}  过号于 {at}",
        "en": "{number}  {category}  at {at}",
    },
    "reinstate.none": {"zh": "今日本窗口没有可恢复的过号票", "en": "No no-shows to reinstate"},
    # outcomes
    "done.called": {"zh": "已呼叫 {number}", "en": "Called {number}"},
    "done.reinstated": {"zh": "{number} 已恢复排队", "en": "{number} is waiting again"},
    "done.transferred": {"zh": "{number} 已转移", "en": "{number} transferred"},
    "error.title": {"zh": "服务器拒绝了操作", "en": "The server refused"},
    "error.queue_empty": {"zh": "没有等候的票", "en": "Nobody is waiting"},
    "error.offline": {
        "zh": "连接中断，操作将在重连后完成",
        "en": "Offline; retrying after reconnect",
    },
    "error.unexpected": {"zh": "操作失败：{detail}", "en": "The action failed: {detail}"},
    "minutes": {"zh": "{m} 分钟", "en": "{m} min"},
}

_language: Language = "zh"


def set_language(language: Language) -> None:
    global _language
    _language = language


def language() -> Language:
    return _language


def t(key: str, **fields: object) -> str:
    """The text for `key` in the current language (the key itself if unknown)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry[_language]
    return text.format(**fields) if fields else text


def duration(seconds: float) -> str:
    """A short human duration, e.g. 7:05 or 1:02:03 (never negative)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
