"""The portal's words in zh-CN and en: one small catalogue per language, no gettext toolchain.

Every key exists in both catalogues (a test holds them equal). Placeholders use ``str.format``
names: ``{left}``, ``{phone}``. The language of a request comes from ``?lang=``, then the
``ng_lang`` cookie, then ``Accept-Language``; Chinese is the default.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LANG = "zh-CN"
LANGS: tuple[str, ...] = ("zh-CN", "en")
LANG_COOKIE = "ng_lang"

ZH: dict[str, str] = {
    "site.name": "numguard 号码守护",
    "site.tagline": "别让二次放号的手机号泄露你的账户",
    "nav.home": "首页",
    "nav.lookup": "一证通查",
    "nav.requests": "解绑进度",
    "nav.plan": "注销前清单",
    "nav.main": "主导航",
    "nav.logout": "结束查询",
    "lang.label": "语言",
    "lang.other": "English",
    "lang.other_code": "en",
    "skip": "跳到正文",
    "footer": "numguard 是开源的号码回收登记系统。我们不保存身份证号码原文，每一次查询都有记录。",
    "home.title": "你的手机号，还连着谁的账户？",
    "home.intro": (
        "手机号注销后，运营商冻结一段时间便会重新放号。银行、支付、社交和购物账户却还绑着这个号码："
        "下一位号主会收到你的验证码，甚至能直接登录。用手机号、身份证号码和短信验证码，"
        "你可以在这里看清楚并处理这些绑定。"
    ),
    "home.accounts.title": "查询号码绑定的账户",
    "home.accounts.text": (
        "一证通查 2.0：看看哪些平台的账户绑定在你的号码上，哪些是在你持有之前绑定的。"
    ),
    "home.numbers.title": "查询身份证名下的号码",
    "home.numbers.text": "一证通查 1.0：看看各运营商在你的身份证名下登记了哪些号码。",
    "home.renew.title": "新号主：一键焕新",
    "home.renew.text": (
        "刚拿到的号码还绑着前任号主的账户？一次请求所有平台解除这些绑定，并跟踪进度。"
    ),
    "home.plan.title": "准备注销号码",
    "home.plan.text": "注销之前，按顺序解绑：先金融，再社交，再购物和生活服务。生成可打印的清单。",
    "home.start": "开始",
    "home.privacy": (
        "验证码验证通过之前，页面不会透露号码和身份证是否匹配；"
        "平台永远不会知道新号主是谁，只知道号码和持有起始日期。"
    ),
    "lookup.title": "一证通查",
    "lookup.kinds": "查询类型",
    "lookup.kind.accounts": "号码绑定的账户",
    "lookup.kind.numbers": "名下的号码",
    "lookup.kind.plan": "注销前清单",
    "lookup.intro.accounts": (
        "输入手机号码和身份证号码后 6 位。验证短信验证码后，你会看到绑定在这个号码上的账户。"
    ),
    "lookup.intro.numbers": (
        "输入手机号码和完整的身份证号码。验证短信验证码后，你会看到登记在这张身份证名下的号码。"
    ),
    "lookup.intro.plan": (
        "准备放弃这个号码？输入手机号码和身份证号码后 6 位，验证后得到一份按顺序排好的解绑清单。"
    ),
    "field.phone": "手机号码",
    "field.phone.hint": "例如 138 0013 8000，或带国家代码 +86 138 0013 8000",
    "field.id_suffix": "身份证号码后 6 位",
    "field.id_suffix.hint": "6 位，最后一位可以是 X",
    "field.id_number": "身份证号码",
    "field.id_number.hint": "18 位，最后一位可以是 X。我们只保存它的加密摘要。",
    "field.code": "短信验证码",
    "field.code.hint": "6 位数字，{minutes} 分钟内有效",
    "lookup.submit": "获取验证码",
    "lookup.privacy": "每个号码 {hours} 小时内只能查询一次。",
    "code.title": "输入短信验证码",
    "code.sent": "如果信息无误，验证码已发送到 {phone}。",
    "code.submit": "验证",
    "code.restart": "重新开始",
    "errors.title": "请修改以下问题：",
    "error.phone_invalid": "这不是有效的手机号码。请检查后重新输入，例如 138 0013 8000。",
    "error.id_suffix_invalid": "请输入身份证号码的最后 6 位：6 个数字，最后一位可以是 X。",
    "error.id_number_invalid": "请输入完整的 18 位身份证号码，最后一位可以是 X。",
    "error.code_format": "验证码是 6 位数字。",
    "error.code_wrong": "验证码不正确。你还可以再试 {left} 次。",
    "error.code_locked": "验证码输错的次数太多，这次查询已锁定。请 {lock_minutes} 分钟后再查询。",
    "error.code_expired": "验证码已过期（有效期 {minutes} 分钟），或已经用过。请重新开始查询。",
    "error.too_soon": "这个号码 {hours} 小时内已经查询过一次。请在 {until}（北京时间）之后再试。",
    "error.too_soon_pending": (
        "已经向这个号码发送过验证码，仍在有效期内。请使用那条短信里的验证码，"
        "或在 {until}（北京时间）之后重新开始。"
    ),
    "error.too_soon_locked": (
        "这个号码的上一次查询因验证码输错次数太多已锁定。请在 {until}（北京时间）之后再试。"
    ),
    "error.session": "你的查询已结束或已过期。为了保护你的信息，请重新验证。",
    "error.csrf": "页面已过期，请重新提交表单。",
    "error.unavailable": "短信暂时发送不出去。请稍后再试。",
    "error.generic": "出了点问题，请稍后再试。",
    "error.not_found": "找不到这个页面。",
    "results.accounts.title": "绑定在 {phone} 上的账户",
    "results.accounts.summary": "{accounts} 个账户，分布在 {platforms} 个平台。",
    "results.accounts.none": "没有平台报告绑定在这个号码上的账户。",
    "results.tenure_since": "你从 {date} 起持有这个号码。",
    "results.numbers.title": "登记在你身份证名下的号码",
    "results.numbers.none": "没有运营商在这张身份证名下登记号码。",
    "col.platform": "平台",
    "col.account": "账户",
    "col.bound_at": "绑定日期",
    "col.last_active": "最近使用",
    "col.tenure": "与你的关系",
    "col.carrier": "运营商",
    "col.number": "号码",
    "col.status": "状态",
    "col.sent_at": "发出时间",
    "col.deadline": "处理期限",
    "col.reason": "说明",
    "col.step": "步骤",
    "col.action": "要做的事",
    "col.category": "类别",
    "col.done": "完成",
    "col.since": "持有起始",
    "category.FINANCIAL": "金融",
    "category.SOCIAL": "社交",
    "category.COMMERCE": "购物",
    "category.LIFESTYLE": "生活服务",
    "category.OTHER": "其他",
    "binding.mine": "在你持有期间绑定",
    "binding.before": "在你持有这个号码之前绑定",
    "number.ACTIVE": "使用中",
    "number.UNREPORTED": "未报告",
    "number.AGING": "冷冻期",
    "number.RELEASED": "已释放",
    "renew.title": "焕新：请平台解除之前号主的绑定",
    "renew.text": (
        "有 {count} 个账户是在你持有这个号码之前绑定的。我们会向这些平台发出解绑请求；"
        "平台只会知道号码和你开始持有它的日期，不会知道你是谁。"
    ),
    "renew.submit": "向 {platforms} 个平台发送解绑请求",
    "renew.none": "没有早于你持有期的绑定，不需要焕新。",
    "renew.sent": "已发出 {count} 个解绑请求。平台处理后，状态会在这里更新。",
    "requests.title": "解绑请求进度",
    "requests.none": "还没有解绑请求。",
    "requests.refresh": "刷新",
    "track.title": "解绑请求进度",
    "track.intro": "输入焕新后得到的跟踪码，无需再次验证，就能查看各平台的处理进度。",
    "track.token": "跟踪码",
    "track.token_hint": "以 trk_ 开头，发出解绑请求后显示在进度页面上。",
    "track.submit": "查看进度",
    "track.valid_until": "这个跟踪链接在 {until}（北京时间）之前有效。",
    "track.keep.title": "收藏或打印跟踪链接",
    "track.keep.text": (
        "查询会话很快就会结束。用下面的链接或跟踪码，可以在 {until}（北京时间）之前随时查看"
        "这些请求的进度，无需再次验证。它只显示平台名称和处理状态。请自己保管，不要分享给别人。"
    ),
    "track.link": "跟踪链接",
    "track.print": "打印本页",
    "col.answered_at": "答复时间",
    "col.accounts": "账户数",
    "error.tracking_invalid": "这个跟踪码无效或已过期。请检查后再试，或者重新查询这个号码。",
    "status.pending": "处理中",
    "status.done": "已解绑",
    "status.rejected": "被拒绝",
    "status.overdue": "已逾期",
    "plan.title": "注销 {phone} 之前：解绑清单",
    "plan.intro": (
        "请按顺序处理：先金融账户，再社交，再购物和生活服务，最后其他。"
        "超过一年没有使用的账户，建议直接注销账户，而不只是解绑手机号。"
    ),
    "plan.none": "没有平台报告绑定在这个号码上的账户。注销前，也请检查你自己记得的账户。",
    "plan.progress": "已完成 {done} / {total}",
    "plan.print": "打印清单",
    "plan.download": "下载 CSV",
    "action.UNBIND": "解绑手机号",
    "binding.unknown": "无法确定（你的持有期早于运营商完整记录的起点）",
    "action.CLOSE_ACCOUNT": "注销账户",
    "reason.IN_USE": "近期在用",
    "reason.DORMANT": "超过一年未使用",
    "reason.NEVER_USED": "绑定后从未使用",
    "results.nomatch": (
        "这个身份证号码与这个号码当前机主的登记信息不符，所以这里没有可以显示的内容。"
        "如果你确实是机主，请检查输入的身份证号码，{hours} 小时后再查询。"
    ),
    "results.request": "解绑请求：{status}",
    "requests.count": "{accounts} 个账户",
    "results.back": "返回查询结果",
    "results.to_accounts": "查看这个号码绑定的账户",
    "results.to_requests": "查看解绑进度",
    "results.to_plan": "生成注销前清单",
    "logout.done": "查询已结束，验证信息已清除。",
    "page.error": "出错了",
}

EN: dict[str, str] = {
    "site.name": "numguard",
    "site.tagline": "Keep a recycled phone number from leaking your accounts",
    "nav.home": "Home",
    "nav.lookup": "Look up",
    "nav.requests": "Unbind requests",
    "nav.plan": "Before you cancel",
    "nav.main": "Main navigation",
    "nav.logout": "End session",
    "lang.label": "Language",
    "lang.other": "中文",
    "lang.other_code": "zh-CN",
    "skip": "Skip to content",
    "footer": (
        "numguard is an open-source registry of recycled phone numbers. "
        "We never store an ID number in clear, and every lookup is recorded."
    ),
    "home.title": "Which accounts still hang on your phone number?",
    "home.intro": (
        "When a number is cancelled, the carrier freezes it for a while and then gives it to "
        "someone else. Bank, payment, messaging and shopping accounts still point at it: the next "
        "holder gets your SMS codes and can often log in. With your phone, your ID number and an "
        "SMS code you can see these bindings here and act on them."
    ),
    "home.accounts.title": "Accounts bound to my number",
    "home.accounts.text": (
        "Lookup 2.0: which platforms have accounts on your number, and which were bound before "
        "you held it."
    ),
    "home.numbers.title": "Numbers under my ID",
    "home.numbers.text": "Lookup 1.0: the numbers each carrier has registered under your ID.",
    "home.renew.title": "New holder: clean up in one go",
    "home.renew.text": (
        "Your new number still carries the previous holder's accounts? Ask every platform at once "
        "to drop them, and follow each request."
    ),
    "home.plan.title": "About to give up a number",
    "home.plan.text": (
        "Unbind in the right order before you cancel: financial first, then social, then shopping "
        "and lifestyle. Get a printable checklist."
    ),
    "home.start": "Start",
    "home.privacy": (
        "Until the SMS code is verified, no page tells whether the phone and the ID match; "
        "platforms never learn who the new holder is, only the number and the tenure start date."
    ),
    "lookup.title": "Look up",
    "lookup.kinds": "What to look up",
    "lookup.kind.accounts": "Accounts on my number",
    "lookup.kind.numbers": "Numbers under my ID",
    "lookup.kind.plan": "Before you cancel",
    "lookup.intro.accounts": (
        "Enter your phone number and the last 6 characters of your ID number. After the SMS code "
        "you will see the accounts bound to this number."
    ),
    "lookup.intro.numbers": (
        "Enter your phone number and your full ID number. After the SMS code you will see the "
        "numbers registered under this ID."
    ),
    "lookup.intro.plan": (
        "About to give up this number? Enter your phone number and the last 6 characters of your "
        "ID number; after the SMS code you get an ordered unbinding checklist."
    ),
    "field.phone": "Phone number",
    "field.phone.hint": "For example 138 0013 8000, or with the country code +86 138 0013 8000",
    "field.id_suffix": "Last 6 characters of your ID number",
    "field.id_suffix.hint": "6 characters; the last may be X",
    "field.id_number": "ID number",
    "field.id_number.hint": "18 characters; the last may be X. We keep only a keyed digest of it.",
    "field.code": "SMS code",
    "field.code.hint": "6 digits, valid for {minutes} minutes",
    "lookup.submit": "Send me a code",
    "lookup.privacy": "Each number can be looked up once every {hours} hours.",
    "code.title": "Enter the SMS code",
    "code.sent": "If the details are right, a code has been sent to {phone}.",
    "code.submit": "Verify",
    "code.restart": "Start again",
    "errors.title": "Please fix the following:",
    "error.phone_invalid": (
        "This is not a valid mobile number. Please check it, for example 138 0013 8000."
    ),
    "error.id_suffix_invalid": (
        "Enter the last 6 characters of your ID number: 6 digits, the last one may be X."
    ),
    "error.id_number_invalid": "Enter your full 18-character ID number; the last one may be X.",
    "error.code_format": "The code is 6 digits.",
    "error.code_wrong": "That code is not right. You can try {left} more times.",
    "error.code_locked": (
        "Too many wrong codes: this lookup is locked. Please try again in {lock_minutes} minutes."
    ),
    "error.code_expired": (
        "The code has expired (it is valid for {minutes} minutes) or was already used. "
        "Please start again."
    ),
    "error.too_soon": (
        "This number was already looked up in the last {hours} hours. "
        "Please try again after {until} (Beijing time)."
    ),
    "error.too_soon_pending": (
        "A code was already sent to this number and is still valid. Use the code in that text "
        "message, or start again after {until} (Beijing time)."
    ),
    "error.too_soon_locked": (
        "The last lookup of this number was locked after too many wrong codes. "
        "Please try again after {until} (Beijing time)."
    ),
    "error.session": "Your lookup has ended or expired. To protect you, please verify again.",
    "error.csrf": "This page has expired. Please submit the form again.",
    "error.unavailable": "We cannot send text messages right now. Please try again later.",
    "error.generic": "Something went wrong. Please try again later.",
    "error.not_found": "There is no such page.",
    "results.accounts.title": "Accounts bound to {phone}",
    "results.accounts.summary": "{accounts} accounts on {platforms} platforms.",
    "results.accounts.none": "No platform reports an account bound to this number.",
    "results.tenure_since": "You have held this number since {date}.",
    "results.numbers.title": "Numbers registered under your ID",
    "results.numbers.none": "No carrier has a number registered under this ID.",
    "col.platform": "Platform",
    "col.account": "Account",
    "col.bound_at": "Bound on",
    "col.last_active": "Last used",
    "col.tenure": "Bound when",
    "col.carrier": "Carrier",
    "col.number": "Number",
    "col.status": "Status",
    "col.sent_at": "Sent",
    "col.deadline": "Due by",
    "col.reason": "Note",
    "col.step": "Step",
    "col.action": "What to do",
    "col.category": "Category",
    "col.done": "Done",
    "col.since": "Held since",
    "category.FINANCIAL": "Financial",
    "category.SOCIAL": "Social",
    "category.COMMERCE": "Shopping",
    "category.LIFESTYLE": "Lifestyle",
    "category.OTHER": "Other",
    "binding.mine": "Bound during your tenure",
    "binding.before": "Bound before you held this number",
    "number.ACTIVE": "In use",
    "number.UNREPORTED": "Not reported",
    "number.AGING": "Frozen",
    "number.RELEASED": "Released",
    "renew.title": "Clean up: ask platforms to drop the previous holder's bindings",
    "renew.text": (
        "{count} accounts were bound before you held this number. We will send each of these "
        "platforms an unbind request; they learn only the number and the date your tenure "
        "started, never who you are."
    ),
    "renew.submit": "Send unbind requests to {platforms} platforms",
    "renew.none": "No account predates your tenure: there is nothing to clean up.",
    "renew.sent": "{count} unbind requests sent. Their status updates here as platforms answer.",
    "requests.title": "Unbind requests",
    "requests.none": "No unbind requests yet.",
    "requests.refresh": "Refresh",
    "track.title": "Your unbind requests",
    "track.intro": (
        "Enter the tracking code you got when you sent the unbind requests to see where each "
        "platform stands, without looking the number up again."
    ),
    "track.token": "Tracking code",
    "track.token_hint": "It starts with trk_ and was shown on the unbind requests page.",
    "track.submit": "Show the progress",
    "track.valid_until": "This tracking link works until {until} (Beijing time).",
    "track.keep.title": "Bookmark or print your tracking link",
    "track.keep.text": (
        "Your lookup session ends soon. With the link or the tracking code below you can follow "
        "these requests until {until} (Beijing time) without looking the number up again. It "
        "shows only platform names and statuses. Keep it to yourself."
    ),
    "track.link": "Tracking link",
    "track.print": "Print this page",
    "col.answered_at": "Answered",
    "col.accounts": "Accounts",
    "error.tracking_invalid": (
        "This tracking code is not valid or has expired. Check it, or look the number up again."
    ),
    "status.pending": "Pending",
    "status.done": "Done",
    "status.rejected": "Rejected",
    "status.overdue": "Overdue",
    "plan.title": "Before you give up {phone}: unbinding checklist",
    "plan.intro": (
        "Work in this order: financial accounts first, then social, then shopping and lifestyle, "
        "then the rest. An account unused for more than a year is better closed than unbound."
    ),
    "plan.none": (
        "No platform reports an account bound to this number. Before you cancel, also check the "
        "accounts you remember yourself."
    ),
    "plan.progress": "{done} of {total} done",
    "plan.print": "Print the checklist",
    "plan.download": "Download CSV",
    "action.UNBIND": "Unbind the number",
    "binding.unknown": "Cannot tell (your tenure began before the carrier's records are complete)",
    "action.CLOSE_ACCOUNT": "Close the account",
    "reason.IN_USE": "In use recently",
    "reason.DORMANT": "Unused for over a year",
    "reason.NEVER_USED": "Never used since it was bound",
    "results.nomatch": (
        "This ID does not match the records of the number's current holder, so there is nothing "
        "to show. If you do hold this number, check the ID you entered and try again in {hours} "
        "hours."
    ),
    "results.request": "Unbind request: {status}",
    "requests.count": "{accounts} accounts",
    "results.back": "Back to the results",
    "results.to_accounts": "See the accounts bound to this number",
    "results.to_requests": "Follow the unbind requests",
    "results.to_plan": "Make a checklist before cancelling",
    "logout.done": "The lookup has ended and its verification is cleared.",
    "page.error": "Something went wrong",
}

CATALOGUES: Mapping[str, Mapping[str, str]] = {"zh-CN": ZH, "en": EN}


def translate(lang: str, key: str, **values: object) -> str:
    """The text of *key* in *lang* with *values* filled in; the key itself if it is unknown."""
    catalogue = CATALOGUES.get(lang, ZH)
    text = catalogue.get(key) or EN.get(key) or key
    return text.format(**values) if values else text


def _normalise(tag: str) -> str | None:
    tag = tag.strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str:
    """The best supported language in an ``Accept-Language`` header (q-values honoured)."""
    if not header:
        return DEFAULT_LANG
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        lang = _normalise(tag)
        if lang is not None and quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else DEFAULT_LANG


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: ``?lang=``, then the cookie, then ``Accept-Language``."""
    for candidate in (query, cookie):
        if candidate is not None and candidate in CATALOGUES:
            return candidate
    return from_accept_language(accept_language)
