"""Ready-made sequences from the seed articles, created as drafts in one click.

Each blueprint is a sequence (trigger, kind) with its steps (delay, subject, preheader, body) in
Japanese and English. Creating one makes an unpublished sequence with unpublished steps for the
editor to adapt, preview, test-send and publish. Triggers other apps register later (e.g.
``basket_abandoned``) are named by key: a blueprint whose trigger is not registered is listed
but cannot be created, with a message saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from ..triggers.registry import registry

# Followed by 様 everywhere below: the fallback is お客 (お客様), not お客様 (お客様様).
NAME = '{{ first_name|default:"お客" }}'
NAME_EN = '{{ first_name|default:"there" }}'


class BlueprintUnavailable(Exception):
    """The blueprint cannot be created here (its trigger is not registered)."""


@dataclass(frozen=True)
class StepSpec:
    delay: int
    unit: str
    subject: dict[str, str]
    preheader: dict[str, str]
    #: (language, options) → raw StreamField data.
    body: Callable[[str, dict[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Blueprint:
    key: str
    trigger: str
    kind: str
    title: dict[str, str]
    description: dict[str, str]
    steps: tuple[StepSpec, ...] = field(default_factory=tuple)
    #: The seed article the scenario comes from.
    source: str = ""

    @property
    def uses_voucher(self) -> bool:
        return any(b["type"] == "voucher" for s in self.steps for b in s.body("ja", {}))

    @property
    def uses_form_page(self) -> bool:
        """Sequences of this template start when a form is submitted: the form must be chosen."""
        return self.trigger == "form_submitted"

    @property
    def uses_survey(self) -> bool:
        return any(b["type"] == "survey" for s in self.steps for b in s.body("ja", {}))

    def is_available(self) -> bool:
        try:
            registry.get(self.trigger)
        except LookupError:
            return False
        return True


# -- body helpers (raw StreamField data) ----------------------------------------------------------
def heading(text: str) -> dict:
    return {"type": "heading", "value": text}


def paragraph(*paragraphs: str) -> dict:
    return {"type": "paragraph", "value": "".join(f"<p>{p}</p>" for p in paragraphs)}


def button(text: str, options: dict) -> dict:
    return {"type": "button", "value": {"text": text, "page": None, "url": options.get("shop_url", "")}}


def products(title: str, sources: list[str], count: int = 3, button_text: str = "") -> dict:
    return {"type": "products", "value": {
        "heading": title, "sources": sources, "products": [], "count": count, "upsell_percent": 50,
        "button_text": button_text,
    }}


def order_summary(title: str) -> dict:
    return {"type": "order_summary", "value": {"heading": title, "show_images": True, "show_totals": True}}


def voucher(title: str, text: str, button_text: str, options: dict) -> dict:
    return {"type": "voucher", "value": {
        "template": options.get("voucher_template"), "heading": title, "text": f"<p>{text}</p>",
        "button_text": button_text, "page": None, "url": options.get("shop_url", ""),
    }}


def review_request(title: str, text: str, button_text: str) -> dict:
    return {"type": "review_request", "value": {"heading": title, "text": f"<p>{text}</p>", "button_text": button_text}}


def survey(title: str, text: str, button_text: str, options: dict) -> dict:
    return {"type": "survey", "value": {
        "page": options.get("survey_page"), "heading": title, "text": f"<p>{text}</p>", "button_text": button_text,
    }}


def divider() -> dict:
    return {"type": "divider", "value": None}


def _t(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


# -- the scenarios --------------------------------------------------------------------------------
def _apparel_0(lang, o):
    if lang == "ja":
        return [
            heading(f"{NAME}様、ご購入ありがとうございます"),
            paragraph("このたびは{{ shop_name }}でお買い物いただき、誠にありがとうございます。",
                      "ご注文番号は {{ order_number }} です。商品の到着まで今しばらくお待ちください。"),
            order_summary("ご注文内容"),
            button("ご注文の確認・お問い合わせ", o),
        ]
    return [
        heading(f"Thank you for your order, {NAME_EN}"),
        paragraph("Thank you for shopping at {{ shop_name }}.",
                  "Your order number is {{ order_number }}. We will let you know as soon as it ships."),
        order_summary("Your order"),
        button("View your order", o),
    ]


def _apparel_3(lang, o):
    if lang == "ja":
        return [
            heading("もう洋服は着てみましたか?"),
            paragraph(f"{NAME}様、お届けした商品はいかがでしたか?",
                      "サイズが合わなかった場合は、到着から7日以内であれば交換・返品を承ります。"),
            survey("着心地を教えてください", "1分で終わるアンケートです。今後の商品づくりに活かします。", "アンケートに答える", o),
            button("交換・返品の方法", o),
        ]
    return [
        heading("Have you tried it on yet?"),
        paragraph(f"Hi {NAME_EN}, how do you like what we sent you?",
                  "If the size is not right, we exchange or refund within 7 days of delivery."),
        survey("How does it fit?", "A one-minute survey that helps us make better clothes.", "Answer the survey", o),
        button("Exchanges and returns", o),
    ]


def _apparel_5(lang, o):
    if lang == "ja":
        return [
            heading(f"{NAME}様に合うボトムはこれです"),
            paragraph("お買い上げいただいたアイテムに合わせやすいボトムを、スタッフが選びました。",
                      "丈や色の合わせ方に迷ったら、お気軽にご相談ください。"),
            products("おすすめのコーディネート", ["recommended", "upsell", "bestsellers"], 3, "詳しく見る"),
        ]
    return [
        heading(f"Bottoms that go with your new piece, {NAME_EN}"),
        paragraph("Our staff picked bottoms that are easy to match with what you bought."),
        products("Complete the outfit", ["recommended", "upsell", "bestsellers"], 3, "See more"),
    ]


def _apparel_7(lang, o):
    if lang == "ja":
        return [
            heading("この靴と合わせてみても良いですね"),
            paragraph("コーディネートの仕上げに、足元も揃えてみませんか?"),
            products("こちらもおすすめです", ["recommended", "bestsellers"], 3, "詳しく見る"),
        ]
    return [
        heading("These shoes would go well with it"),
        paragraph("Finish the look from head to toe."),
        products("You may also like", ["recommended", "bestsellers"], 3, "See more"),
    ]


def _welcome_0(lang, o):
    if lang == "ja":
        return [
            heading("ご登録ありがとうございます!{{ shop_name }}へようこそ"),
            paragraph(f"{NAME}様、会員登録ありがとうございます。",
                      "ログインすると、注文履歴の確認やお気に入りの保存ができます。"),
            button("お買い物を始める", o),
        ]
    return [
        heading("Welcome to {{ shop_name }}!"),
        paragraph(f"Hi {NAME_EN}, thank you for signing up.",
                  "Sign in to see your orders and keep a wish list."),
        button("Start shopping", o),
    ]


def _welcome_2(lang, o):
    if lang == "ja":
        return [
            heading("【{{ shop_name }}】いま人気の商品"),
            paragraph("多くのお客様に選ばれている商品をご紹介します。"),
            products("人気ランキング", ["bestsellers"], 6, "詳しく見る"),
        ]
    return [
        heading("What other customers love"),
        paragraph("Our most popular products right now."),
        products("Best sellers", ["bestsellers"], 6, "See more"),
    ]


def _welcome_5(lang, o):
    if lang == "ja":
        return [
            heading("【会員様限定】今だけのクーポンをプレゼント"),
            voucher("初回のお買い物に使えるクーポン", f"{NAME}様だけのクーポンです。期限内にぜひご利用ください。",
                    "クーポンを使ってお買い物", o),
        ]
    return [
        heading("A members-only coupon for you"),
        voucher("For your first order", f"{NAME_EN}, this code is yours alone. Use it before it expires.",
                "Shop with your coupon", o),
    ]


def _basket_0(lang, o):
    if lang == "ja":
        return [
            heading("カートに商品が残っています"),
            paragraph(f"{NAME}様、お買い忘れはありませんか?カートの商品は売り切れる前にどうぞ。"),
            order_summary("カートの中身"),
            button("カートを見る", o),
        ]
    return [
        heading("You left something in your basket"),
        paragraph(f"Hi {NAME_EN}, your basket is waiting — before it sells out."),
        order_summary("In your basket"),
        button("Return to your basket", o),
    ]


def _basket_1(lang, o):
    if lang == "ja":
        return [
            heading("【本日限定】送料無料でお届けします"),
            paragraph("カートの商品を、今なら送料無料でお届けします。"),
            order_summary("カートの中身"),
            voucher("送料無料クーポン", "お会計のときにコードを入力してください。", "カートに戻る", o),
        ]
    return [
        heading("Free shipping, today only"),
        paragraph("Complete your order today and shipping is on us."),
        order_summary("In your basket"),
        voucher("Free shipping coupon", "Enter the code at checkout.", "Return to your basket", o),
    ]


def _birthday_0(lang, o):
    if lang == "ja":
        return [
            heading(f"{NAME}様、お誕生日おめでとうございます"),
            paragraph("素敵な一年になりますように。ささやかですが、お誕生日のプレゼントをお届けします。"),
            voucher("バースデークーポン", "お誕生月のお買い物にご利用ください。", "お買い物する", o),
        ]
    return [
        heading(f"Happy birthday, {NAME_EN}!"),
        paragraph("Have a wonderful year. Here is a small gift from us."),
        voucher("Your birthday coupon", "Treat yourself this month.", "Go shopping", o),
    ]


def _review_3(lang, o):
    if lang == "ja":
        return [
            heading("ご購入の商品はいかがでしたか?"),
            paragraph(f"{NAME}様、商品の使い心地はいかがでしょうか。"),
            survey("ご感想をお聞かせください", "アンケートへのご協力をお願いします。", "アンケートに答える", o),
            products("あわせて使いたい商品", ["recommended", "bestsellers"], 3, "詳しく見る"),
        ]
    return [
        heading("How is your purchase?"),
        paragraph(f"Hi {NAME_EN}, we hope you enjoy it."),
        survey("Tell us what you think", "Please answer our short survey.", "Answer the survey", o),
        products("Goes well with it", ["recommended", "bestsellers"], 3, "See more"),
    ]


def _review_7(lang, o):
    if lang == "ja":
        return [
            heading("【感謝】レビューを書いて特典ゲット!"),
            review_request("レビューをお願いします", "率直なご感想が、ほかのお客様の参考になります。", "レビューを書く"),
            voucher("次回使えるクーポン", "レビューのお礼に、次回のお買い物に使えるクーポンをお贈りします。", "お買い物する", o),
        ]
    return [
        heading("Write a review, get a thank-you"),
        review_request("Please review your purchase", "Your honest opinion helps other customers.", "Write a review"),
        voucher("A coupon for next time", "As a thank-you, here is a coupon for your next order.", "Go shopping", o),
    ]


def _document_0(lang, o):
    if lang == "ja":
        return [
            heading("資料ダウンロードありがとうございます"),
            paragraph(f"{NAME}様、資料をご請求いただきありがとうございます。",
                      "資料は下のボタンからいつでも再ダウンロードできます。"),
            button("資料をダウンロード", o),
        ]
    return [
        heading("Thank you for downloading our guide"),
        paragraph(f"Hi {NAME_EN}, thank you for your interest.", "You can download the guide again at any time."),
        button("Download the guide", o),
    ]


def _document_2(lang, o):
    if lang == "ja":
        return [heading("【資料】さらに詳しく知りたい方へ"),
                paragraph("資料でご紹介した課題について、解決策をもう一歩詳しく解説した記事をご用意しました。"),
                button("解説記事を読む", o)]
    return [heading("Going further than the guide"),
            paragraph("We wrote a closer look at the problems the guide describes, and how to solve them."),
            button("Read the article", o)]


def _document_5(lang, o):
    if lang == "ja":
        return [heading("【導入事例】成果を上げた企業様"),
                paragraph("同じ課題を抱えていた企業様が、導入後にどのような成果を上げたかをご紹介します。"),
                button("導入事例を見る", o)]
    return [heading("How others succeeded"),
            paragraph("Companies with the same challenges, and the results they achieved."),
            button("Read the case studies", o)]


def _document_7(lang, o):
    if lang == "ja":
        return [heading("無料相談しませんか?"),
                paragraph("貴社の課題に合わせた個別のご相談やデモを無料で承っています。"),
                button("無料相談を申し込む", o)]
    return [heading("Shall we talk?"),
            paragraph("Book a free consultation or demo tailored to your situation."),
            button("Book a free consultation", o)]


def _webinar_0(lang, o):
    if lang == "ja":
        return [
            heading("ウェビナーご参加ありがとうございました"),
            paragraph(f"{NAME}様、本日はご参加いただきありがとうございました。当日の資料は下のボタンからダウンロードできます。"),
            survey("アンケートにご協力ください", "今後のウェビナーの改善に活用いたします。", "アンケートに答える", o),
            button("当日の資料をダウンロード", o),
        ]
    return [
        heading("Thank you for joining our webinar"),
        paragraph(f"Hi {NAME_EN}, thank you for attending. The slides are available below."),
        survey("Quick survey", "Help us make the next webinar better.", "Answer the survey", o),
        button("Download the slides", o),
    ]


def _webinar_3(lang, o):
    if lang == "ja":
        return [heading("【復習】ウェビナーで解説しきれなかったポイント"),
                paragraph("時間の都合でお話しできなかった内容を、記事にまとめました。"),
                button("記事を読む", o)]
    return [heading("What we did not have time for"),
            paragraph("The points we could not cover in the webinar, written up for you."),
            button("Read the article", o)]


def _webinar_7(lang, o):
    if lang == "ja":
        return [heading("ウェビナー内容、個別にご相談承ります"),
                paragraph("ウェビナーで解決できなかった疑問や、導入のご検討について個別にご相談いただけます。"),
                button("個別相談を申し込む", o)]
    return [heading("Questions? Let's talk one to one"),
            paragraph("Ask us anything the webinar left open, or talk about your own case."),
            button("Book a call", o)]


BLUEPRINTS: tuple[Blueprint, ...] = (
    Blueprint(
        "apparel_post_purchase", "order_placed", "marketing",
        _t("アパレル購入後フォロー", "Apparel post-purchase"),
        _t("購入直後のお礼、3日後の着用確認とアンケート、5日後・7日後のコーディネート提案(クロスセル)。",
           "Thanks right away, a fit check with a survey on day 3, outfit suggestions (cross-sell) on days 5 and 7."),
        (
            StepSpec(0, "days", _t(f"{NAME}様、ご購入ありがとうございます", "Thank you for your order"),
                     _t("ご注文内容のご確認", "Your order details"), _apparel_0),
            StepSpec(3, "days", _t("もう洋服は着てみましたか?", "Have you tried it on yet?"),
                     _t("サイズ交換のご案内とアンケート", "Exchanges and a one-minute survey"), _apparel_3),
            StepSpec(5, "days", _t(f"{NAME}様に合うボトムはこれです", "Bottoms that go with it"),
                     _t("スタッフおすすめのコーディネート", "Our staff's outfit picks"), _apparel_5),
            StepSpec(7, "days", _t("この靴と合わせてみても良いですね", "These shoes would go well with it"),
                     _t("足元までコーディネート", "Finish the look"), _apparel_7),
        ),
        "001",
    ),
    Blueprint(
        "welcome_series", "user_registered", "marketing",
        _t("会員登録ウェルカムシリーズ", "Welcome series"),
        _t("登録直後のウェルカム、2日後の人気商品、5日後の会員限定クーポン。",
           "Welcome right away, best sellers on day 2, a members-only coupon on day 5."),
        (
            StepSpec(0, "days", _t("ご登録ありがとうございます!{{ shop_name }}へようこそ", "Welcome to {{ shop_name }}!"),
                     _t("会員特典のご案内", "What members get"), _welcome_0),
            StepSpec(2, "days", _t("【{{ shop_name }}】知っておきたい人気の商品", "Our most popular products"),
                     _t("多くのお客様に選ばれています", "Chosen by many customers"), _welcome_2),
            StepSpec(5, "days", _t("【会員様限定】今だけクーポンをプレゼント!", "A members-only coupon for you"),
                     _t("期限内にご利用ください", "Use it before it expires"), _welcome_5),
        ),
        "003",
    ),
    Blueprint(
        "basket_abandonment", "basket_abandoned", "marketing",
        _t("カート放棄フォロー", "Basket abandonment"),
        _t("放棄から3時間後にカートの中身をリマインド、1日後に送料無料クーポン。",
           "A reminder of the basket 3 hours later, a free-shipping coupon a day later."),
        (
            StepSpec(3, "hours", _t("カートに商品が残っています", "You left something in your basket"),
                     _t("売り切れる前にどうぞ", "Before it sells out"), _basket_0),
            StepSpec(1, "days", _t("【本日限定】送料無料でお届けします", "Free shipping, today only"),
                     _t("カートの商品を送料無料で", "Your basket, shipped free"), _basket_1),
        ),
        "003",
    ),
    Blueprint(
        "birthday_coupon", "birthday", "marketing",
        _t("誕生日クーポン", "Birthday coupon"),
        _t("お誕生日に、お祝いのメッセージとクーポン。", "A birthday greeting with a coupon."),
        (
            StepSpec(0, "days", _t(f"{NAME}様、お誕生日おめでとうございます", "Happy birthday!"),
                     _t("バースデークーポンをお届けします", "A birthday gift inside"), _birthday_0),
        ),
        "003",
    ),
    Blueprint(
        "review_request", "order_placed", "marketing",
        _t("レビュー依頼とクーポン", "Review request with coupon"),
        _t("購入3日後に使用感のアンケートと関連商品、7日後にレビュー依頼と次回クーポン。",
           "A survey and related products on day 3, a review request with a coupon on day 7."),
        (
            StepSpec(3, "days", _t("ご購入の商品はいかがでしたか?", "How is your purchase?"),
                     _t("ご感想をお聞かせください", "Tell us what you think"), _review_3),
            StepSpec(7, "days", _t("【感謝】レビューを書いて特典ゲット!", "Write a review, get a thank-you"),
                     _t("次回使えるクーポンをお贈りします", "A coupon for next time"), _review_7),
        ),
        "003",
    ),
    Blueprint(
        "document_request", "form_submitted", "marketing",
        _t("資料請求フォロー", "Document request follow-up"),
        _t("資料ダウンロード直後のお礼、2日後の補足情報、5日後の導入事例、7日後の無料相談のご案内。",
           "Thanks with the download, more detail on day 2, case studies on day 5, a free consultation on day 7."),
        (
            StepSpec(0, "days", _t("資料ダウンロードありがとうございます", "Thank you for downloading our guide"),
                     _t("資料の再ダウンロードはこちら", "Download it again any time"), _document_0),
            StepSpec(2, "days", _t("【資料】さらに詳しく知りたい方へ", "Going further than the guide"),
                     _t("課題の解決策を深掘りします", "A closer look at the solutions"), _document_2),
            StepSpec(5, "days", _t("【導入事例】成果を上げた企業様", "How others succeeded"),
                     _t("同じ課題を抱えていた企業の事例", "Companies with the same challenges"), _document_5),
            StepSpec(7, "days", _t("課題について、無料相談しませんか?", "Shall we talk?"),
                     _t("個別相談・デモのご案内", "A free consultation or demo"), _document_7),
        ),
        "003",
    ),
    Blueprint(
        "webinar_follow_up", "custom", "marketing",
        _t("ウェビナー参加者フォロー", "Webinar follow-up"),
        _t("終了直後のお礼・アンケート・資料、3日後の復習記事、7日後の個別相談。enroll() で参加者を登録します。",
           "Thanks, survey and slides right after, a follow-up article on day 3, a one-to-one call on day 7. "
           "Enroll attendees with enroll()."),
        (
            StepSpec(0, "days", _t("ウェビナーご参加ありがとうございました", "Thank you for joining our webinar"),
                     _t("当日の資料とアンケート", "Slides and a short survey"), _webinar_0),
            StepSpec(3, "days", _t("【復習】ウェビナーで解説しきれなかったポイント", "What we did not have time for"),
                     _t("当日お話しできなかった内容", "The points we could not cover"), _webinar_3),
            StepSpec(7, "days", _t("ウェビナー内容、個別にご相談承ります", "Questions? Let's talk one to one"),
                     _t("個別相談のご案内", "Book a call"), _webinar_7),
        ),
        "003",
    ),
)


def get_blueprint(key: str) -> Blueprint:
    for blueprint in BLUEPRINTS:
        if blueprint.key == key:
            return blueprint
    raise LookupError(key)


def _unique_slug(parent: Any, base: str) -> str:
    from wagtail.models import Page

    base = slugify(base, allow_unicode=True)[:200] or "sequence"
    taken = set(Page.objects.child_of(parent).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _readable(subject: str, lang: str) -> str:
    """``subject`` for the page tree and the lists: each merge field as its fallback, or as a
    placeholder (○○ / …), not as ``{{ tag }}``."""
    from ..rendering.merge import Field, MergeTemplate

    return "".join(
        part if not isinstance(part, Field) else (part.default or ("○○" if lang == "ja" else "…"))
        for part in MergeTemplate(subject, html=False).parts
    )


def create_from_blueprint(
    blueprint: Blueprint,
    parent: Any,
    language: str,
    *,
    user: Any = None,
    shop_url: str = "",
    voucher_template: Any = None,
    survey_page: Any = None,
    form_page: Any = None,
) -> Any:
    """Create ``blueprint`` under ``parent`` as an unpublished sequence with unpublished steps."""
    from ..models import SequencePage, StepEmailPage

    if not blueprint.is_available():
        raise BlueprintUnavailable(
            _("The trigger “%(trigger)s” is not available in this installation yet, so “%(title)s” "
              "cannot be created.") % {"trigger": blueprint.trigger, "title": blueprint.title.get(language, "")}
        )
    lang = "ja" if language.startswith("ja") else "en"
    options = {
        "shop_url": shop_url,
        "voucher_template": getattr(voucher_template, "pk", None),
        "survey_page": getattr(survey_page, "pk", None),
    }
    with transaction.atomic():
        title = blueprint.title[lang]
        sequence = SequencePage(
            title=title,
            slug=_unique_slug(parent, blueprint.key if lang == "en" else title),
            trigger=blueprint.trigger,
            kind=blueprint.kind,
            description=blueprint.description[lang],
            form_page=form_page,
            live=False,
        )
        parent.add_child(instance=sequence)
        sequence.save_revision(user=user, log_action=True)
        for number, spec in enumerate(blueprint.steps, start=1):
            subject = spec.subject[lang]
            step = StepEmailPage(
                title=f"{number}. {_readable(subject, lang)}"[:255],
                slug=f"step-{number}",
                subject=subject,
                preheader=spec.preheader[lang],
                delay_value=spec.delay,
                delay_unit=spec.unit,
                body=spec.body(lang, options),
                live=False,
            )
            sequence.add_child(instance=step)
            step.save_revision(user=user, log_action=True)
    return sequence
