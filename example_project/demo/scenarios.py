"""The copy of the demo sequences, written from the seed articles.

* ``APPAREL_AFTER_PURCHASE``: the after-purchase follow-up of an apparel shop (seeds/001):
  thanks right after the order, "have you tried it on?" at 3 days, matching bottoms at 5 days,
  shoes at 7 days.
* ``WELCOME_SERIES``: the welcome series for new members (seeds/003): welcome right after
  registration, handy features at 2 days, a members-only offer at 5 days.

Salutations are written ``{{ last_name|default:"お客" }}様``: with a name it reads 「山田様」, without
one (guests who left no name, accounts registered with an email only) the fallback plus the 様
that follows reads 「お客様」.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse

from .catalogue import PRODUCTS, Catalogue
from .streams import a, b, button, divider, heading, p, paragraph, ul

SALUTATION = p('{{ last_name|default:"お客" }}様')


class ShopLinks:
    """Absolute shop URLs for buttons and links (mails are read outside the site)."""

    def __init__(self, catalogue: Catalogue):
        self.base = settings.STEPMAIL["BASE_URL"].rstrip("/")
        self.catalogue = catalogue

    def url(self, path: str) -> str:
        return self.base + path

    def name(self, url_name: str) -> str:
        return self.url(reverse(url_name))

    def category(self, slug: str) -> str:
        return self.url(self.catalogue.categories[slug].get_absolute_url())

    def product(self, slug: str) -> str:
        return self.url(self.catalogue.products[slug].get_absolute_url())

    def product_line(self, slug: str) -> str:
        """「<b>name</b> ¥price」 linking to the product page."""
        spec = _PRODUCTS[slug]
        return p(b(a(spec.title, self.product(slug))), f" ¥{spec.price:,}")


_PRODUCTS = {spec.slug: spec for spec in PRODUCTS}


@dataclass(frozen=True)
class StepSpec:
    slug: str
    title: str
    delay_days: int
    subject: str
    preheader: str
    body: Callable[[ShopLinks], list[dict]]


@dataclass(frozen=True)
class SequenceSpec:
    slug: str
    title: str
    trigger: str
    description: str
    kind: str = "marketing"
    steps: list[StepSpec] = field(default_factory=list)

    def __post_init__(self):
        # The plugin rejects steps whose delays decrease when an editor publishes; keep the
        # demo data to the same rule.
        delays = [s.delay_days for s in self.steps]
        if delays != sorted(delays):
            raise ValueError(f"{self.slug}: step delays must not decrease")


# -- 購入後フォロー(アパレル) --------------------------------------------------------------------------

def _thank_you(links: ShopLinks) -> list[dict]:
    return [
        heading("ご購入ありがとうございます"),
        paragraph(
            SALUTATION,
            p("このたびは{{ shop_name }}でお買い物いただき、誠にありがとうございます。"
              "ご注文(注文番号 {{ order_number }}、合計 {{ order_total }})を確かに承りました。"),
            p("商品は通常2〜3日でお届けします。発送が済みましたら、あらためてお知らせいたします。"),
        ),
        heading("商品が届いたら"),
        paragraph(
            ul(
                "まずはタグを付けたまま試着して、サイズ感をお確かめください。",
                "洗濯表示をご確認のうえ、はじめてのお洗濯は裏返してネットに入れると長持ちします。",
                "サイズが合わなかったときは、到着から14日以内なら交換を承ります(タグ付き・未洗濯のものに限ります)。",
            ),
        ),
        button("ショップを見る", links.name("catalogue:index")),
        divider(),
        paragraph(p("ご不明な点は、このメールにそのままご返信ください。スタッフがお答えします。")),
    ]


def _tried_it_on(links: ShopLinks) -> list[dict]:
    return [
        heading("もう洋服は着てみましたか?"),
        paragraph(
            SALUTATION,
            p("先日はご注文(注文番号 {{ order_number }})ありがとうございました。"
              "そろそろお手元に届いたころかと思い、ご連絡しました。"),
            p("サイズ感や着心地、色味はイメージどおりでしたか? "
              "いただいたご感想は、商品づくりとサイトのサイズ表記の見直しに役立てています。"
              "商品ページのレビュー欄から、ひとことでもお聞かせいただけるとうれしいです。"),
        ),
        button("レビューを書く", links.name("catalogue:index")),
        heading("サイズが合わなかったときは"),
        paragraph(
            p("到着から14日以内でしたら、別のサイズへの交換を承ります。"
              "タグを付けたまま、お届けしたときの袋に入れてお送りください。送料は当店が負担します。"),
        ),
        divider(),
        paragraph(p("お手入れのコツ: リネンやコットンは、干す前に軽く引っぱってシワを伸ばしておくと、"
                    "アイロンいらずでさっぱり着られます。")),
    ]


def _matching_bottoms(links: ShopLinks) -> list[dict]:
    return [
        heading("お買い上げのトップスに合うボトムはこれです"),
        paragraph(
            SALUTATION,
            p("届いた洋服は、もう何度か着ていただけましたか? "
              "今回は、スタッフが実際に合わせてみて「これは間違いない」と感じたボトムをご紹介します。"),
        ),
        paragraph(
            links.product_line("denim-pants"),
            p("シャツの前だけを軽くインして、すっきりと。ワンウォッシュの濃い色が、明るいトップスを引き立てます。"),
            links.product_line("wide-chino-pants"),
            p("ゆるめのTシャツやニットと合わせて、休日のリラックスコーデに。"),
            links.product_line("linen-easy-pants"),
            p("リネンシャツと合わせれば、上下で素材をそろえたセットアップ風に。"),
        ),
        button("ボトムスをすべて見る", links.category("bottoms")),
        divider(),
        paragraph(p("コーデのコツ: トップスに色があるときは、ボトムを紺・ベージュ・白のどれかにすると"
                    "まとまりやすくなります。")),
    ]


def _shoes(links: ShopLinks) -> list[dict]:
    return [
        heading("この靴と合わせてみても良いですね"),
        paragraph(
            SALUTATION,
            p("同じ服でも、足もとを変えるだけで印象はがらりと変わります。"
              "お買い上げの洋服に合わせやすい2足を選びました。"),
        ),
        paragraph(
            links.product_line("canvas-sneakers"),
            p("オフホワイトのローカットは、デニムにもチノにも。旅行や街歩きの日の頼れる一足です。"),
            links.product_line("leather-loafers"),
            p("シャツにローファーを合わせると、いつものカジュアルが少しきちんとした雰囲気に。"),
        ),
        button("シューズを見る", links.category("shoes")),
        divider(),
        paragraph(
            p("購入後のご案内は、このメールでひと区切りです。"
              "お買い上げの一着が、クローゼットで長く活躍しますように。"),
        ),
    ]


APPAREL_AFTER_PURCHASE = SequenceSpec(
    slug="apparel-after-purchase",
    title="購入後フォロー(アパレル)",
    trigger="order_placed",
    description=(
        "洋服を購入したお客様へのアフターフォロー。購入直後にお礼、商品が届くころ(3日後)に着用と"
        "サイズの確認、5日後と7日後にコーディネートの提案をして、ボトムスとシューズのクロスセルに"
        "つなげる。"
    ),
    steps=[
        StepSpec("thank-you", "1通目 購入のお礼", 0,
                 "【{{ shop_name }}】ご購入ありがとうございます(注文番号 {{ order_number }})",
                 "お届けまでの流れと、商品が届いたら確かめていただきたいこと", _thank_you),
        StepSpec("tried-it-on", "2通目 もう洋服は着てみましたか?", 3,
                 "もう洋服は着てみましたか?",
                 "サイズや着心地はいかがでしたか? 交換のご案内もあります", _tried_it_on),
        StepSpec("matching-bottoms", "3通目 ○○に合うボトムはこれです", 5,
                 "お買い上げのトップスに合うボトムはこれです",
                 "スタッフが実際に合わせて選んだ3本", _matching_bottoms),
        StepSpec("shoes", "4通目 この靴と合わせてみても良いですね", 7,
                 "この靴と合わせてみても良いですね",
                 "足もとを変えると、同じ服でも印象が変わります", _shoes),
    ],
)


# -- 新規会員ウェルカムシリーズ -----------------------------------------------------------------------

def _welcome(links: ShopLinks) -> list[dict]:
    return [
        heading("{{ shop_name }}へようこそ"),
        paragraph(
            SALUTATION,
            p("会員登録ありがとうございます。{{ shop_name }}は、毎日着たくなるやさしい服を集めた"
              "小さなお店です。"),
            p("ログインには、ご登録のメールアドレス({{ email }})をお使いください。"),
        ),
        heading("お買い物の流れ"),
        paragraph(
            ul(
                "気になるアイテムをカートに入れる",
                "お届け先を入力して注文を確定する(送料は無料です)",
                "発送のお知らせメールが届いたら、あと少しでお届けです",
            ),
        ),
        button("新作アイテムを見る", links.name("catalogue:index")),
    ]


def _handy_features(links: ShopLinks) -> list[dict]:
    return [
        heading("知っておきたい便利機能3選"),
        paragraph(
            SALUTATION,
            p("{{ shop_name }}をもっと便利に使っていただくために、会員さま向けの機能をご紹介します。"),
            ul(
                b(a("お気に入りリスト", links.name("customer:wishlists-list")))
                + ":気になるアイテムを保存して、あとからゆっくり比べられます。",
                b(a("入荷お知らせ", links.name("customer:alerts-list")))
                + ":品切れのサイズが再入荷したら、メールでお知らせします。",
                b(a("注文履歴", links.name("customer:order-list")))
                + ":過去のご注文と配送状況をいつでも確認できます。",
            ),
        ),
        button("マイページを開く", links.name("customer:summary")),
    ]


def _members_offer(links: ShopLinks) -> list[dict]:
    return [
        heading("会員さま限定のご案内"),
        paragraph(
            SALUTATION,
            p("ご登録から5日が経ちました。{{ shop_name }}の服は、もうご覧いただけましたか?"),
            p("会員さまには、新作を一般公開より先にご案内しています。"
              "今季いちばん人気の" + a("リネンシャツ", links.product("linen-shirt"))
              + "も、まだ全サイズそろっています。"),
        ),
        button("トップスを見る", links.category("tops")),
        divider(),
        paragraph(
            p("よくあるご質問: サイズ交換は到着から14日以内なら無料です。"
              "ご不明な点は、このメールにご返信ください。"),
        ),
    ]


WELCOME_SERIES = SequenceSpec(
    slug="welcome-series",
    title="新規会員ウェルカムシリーズ",
    trigger="user_registered",
    description=(
        "会員登録したお客様へのウェルカムメール。登録直後にあいさつと使い方、2日後に便利機能、"
        "5日後に会員限定の案内を送り、最初のお買い物につなげる。"
    ),
    steps=[
        StepSpec("welcome", "1通目 ようこそ", 0,
                 "ご登録ありがとうございます!{{ shop_name }}へようこそ",
                 "お買い物の流れと、ログインのご案内", _welcome),
        StepSpec("handy-features", "2通目 便利機能のご紹介", 2,
                 "【{{ shop_name }}】知っておきたい便利機能3選",
                 "お気に入り・入荷お知らせ・注文履歴の使い方", _handy_features),
        StepSpec("members-offer", "3通目 会員限定のご案内", 5,
                 "【会員さま限定】新作を先行してご案内します",
                 "人気のリネンシャツも全サイズそろっています", _members_offer),
    ],
)

SEQUENCES = [APPAREL_AFTER_PURCHASE, WELCOME_SERIES]
