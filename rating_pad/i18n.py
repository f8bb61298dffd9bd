"""What the rating pad says, in Chinese (default) and English, and the words for a refused
rating, made from the error's code and `reason` (never from the server's message text)."""

from __future__ import annotations

from kiosk.i18n import LANGUAGES, Words
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import ErrorReply

__all__ = ["LANGUAGES", "Texts"]

_TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "connecting": "正在连接服务器…",
        "offline": "网络连接中断，正在重新连接…",
        "refused": "服务器拒绝了本机（{code}），请联系管理员。",
        "language": "English",
        "welcome": "欢 迎",
        "welcome_hint": "办理结束后，请对本次服务进行评价",
        "window": "{number}号窗口  {name}",
        "staff": "服务人员 {name}    工号 {account}",
        "no_staff": "本窗口暂无工作人员",
        "closed": "本窗口暂停服务",
        "paused": "本窗口暂停服务，请稍候",
        "calling": "正在呼叫 {number} 号",
        "serving": "正在为 {number} 号办理",
        "rate_title": "请对本次服务进行评价",
        "rate_ticket": "号码 {number}",
        "rate_keys": "请按 1–5 键或点击选择",
        "level.1": "非常满意",
        "level.2": "满意",
        "level.3": "基本满意",
        "level.4": "不满意",
        "level.5": "非常不满意",
        "reason_title": "{level}：请选择原因（可多选）",
        "reason_typed": "其他原因（请输入）",
        "reason_needed": "请至少选择或填写一项原因",
        "submit": "提交评价",
        "back": "返回",
        "sending": "正在提交…",
        "thanks": "感谢您的评价！",
        "thanks_bad": "我们会认真核实、及时改进，并将处理结果反馈给您。",
        "thanks_good": "欢迎您再来办事。",
        "already": "本次服务已经评价过了，谢谢您！",
        "not_last": "这次服务已不能在本机评价，谢谢您！",
        "rating_closed": "本次服务的评价时间已过，谢谢您！",
        "network": "网络故障，评价未能提交，请再选一次。",
        "busy": "请稍候再试一次。",
        "error": "暂时无法评价（代码 {code}），请联系窗口工作人员。",
    },
    "en": {
        "connecting": "Connecting to the server…",
        "offline": "Connection lost; reconnecting…",
        "refused": "The server refused this pad ({code}). Please call an administrator.",
        "language": "中文",
        "welcome": "Welcome",
        "welcome_hint": "When your business is done, please rate our service",
        "window": "Window {number}  {name}",
        "staff": "Served by {name}    Staff no. {account}",
        "no_staff": "No one is at this window now",
        "closed": "This window is closed",
        "paused": "This window is paused; please wait",
        "calling": "Calling number {number}",
        "serving": "Serving number {number}",
        "rate_title": "Please rate the service you received",
        "rate_ticket": "Number {number}",
        "rate_keys": "Press 1–5 or tap your choice",
        "level.1": "Very satisfied",
        "level.2": "Satisfied",
        "level.3": "Fairly satisfied",
        "level.4": "Dissatisfied",
        "level.5": "Very dissatisfied",
        "reason_title": "{level}: please choose why (one or more)",
        "reason_typed": "Another reason (type it)",
        "reason_needed": "Choose or type at least one reason",
        "submit": "Send",
        "back": "Back",
        "sending": "Sending…",
        "thanks": "Thank you for your rating!",
        "thanks_bad": "We will look into it, put it right and tell you what we did.",
        "thanks_good": "We look forward to serving you again.",
        "already": "This service has already been rated. Thank you!",
        "not_last": "This service can no longer be rated here. Thank you!",
        "rating_closed": "The time to rate this service is over. Thank you!",
        "network": "Network problem: the rating was not sent. Please choose again.",
        "busy": "Please try again in a moment.",
        "error": "The rating cannot be sent now (code {code}). Please tell the staff.",
    },
}


class Texts(Words):
    """`t("rate_ticket", number="A001")` in the pad's current language."""

    TABLE = _TEXTS

    def level(self, level: int) -> str:
        return self(f"level.{level}")

    def refusal(self, error: ErrorReply) -> tuple[str, bool]:
        """What to tell the citizen of a refused rating, and whether the prompt is over
        (the service cannot be rated here any more) or the citizen may choose again."""
        code, reason = error.code, error.reason
        if code is ErrorCode.INVALID_STATE and reason == "rated":
            return self("already"), True
        if code is ErrorCode.INVALID_STATE and reason == "rating_closed":
            return self("rating_closed"), True
        if code is ErrorCode.FORBIDDEN and reason == "not_last_service":
            return self("not_last"), True
        if code is ErrorCode.BAD_REQUEST and reason == "reason_required":
            return self("reason_needed"), False
        if code is ErrorCode.RATE_LIMITED:
            return self("busy"), False
        return self("error", code=code.value), False
