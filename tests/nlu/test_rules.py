"""Deterministic rules that work without the NLU server."""
import pytest

from nlu.rules import match, normalise


@pytest.mark.parametrize("text", [
    "STOP", "stop", "Baja", "BAJA.", "salir", "Cancelar", "unsubscribe",
    "ya no me manden mensajes", "no quiero recibir mas mensajes", "darme de baja",
    "amaña", "Amaña kachamuwaychu", "dejen de escribirme", "Borrenme porfa", "quiero desuscribirme",
    "sacame de la lista", "borren mi numero", "parar mensajes", "no quiero recibir mas", "me salgo",
    "mana munanichu mensajekunata", "sakame de la lista", "KITENME de su lista", "no kiero mas msj",
])
def test_opt_out_words(text):
    hit = match(text)
    assert hit is not None and hit.kind == "opt_out" and hit.intent == "opt_out"


@pytest.mark.parametrize("text", ["ALTA", "start", "Volver", "quiero volver"])
def test_opt_in_words(text):
    assert match(text).intent == "opt_in"


@pytest.mark.parametrize("text", [
    "mi esposo me pega", "ME GOLPEA todos los dias", "quiero salir de aqui, me pega",
    "me quiere matar", "hay violencia en mi casa", "auxilio", "donde queda el CEM",
    "qosaymi maqawan", "maqawanmi", "mi esposo me jalonea del pelo", "SUFRO MALTRATO",
    "tengo miedo de mi pareja", "quiero denunciar a mi esposo", "estoy en peligro",
    "llega borracho y nos pega", "me forzo", "me da cachetadas cuando toma",
    "revisa mi celular y me grita", "numero de ayuda para la mujer", "me obliga a estar con el",
    "me pego mi marido", "me pegan en la casa", "se me pega el arroz pero mi esposo me pega",
    "me pega el borracho", "mi marido me quitó mis documentos", "mi pareja me esconde el DNI",
    "mi ex me rompio el celular", "el conviviente me vendio mis animales",
])
def test_emergency_words_anywhere(text):
    hit = match(text)
    assert hit is not None and hit.kind == "emergency" and hit.intent == "gbv_support"


@pytest.mark.parametrize("text, intent", [
    ("1", "ask_price"), ("2 ", "ask_climate"), ("opcion 3", "ask_agroecology"),
    ("4", "gbv_support"), ("5", "human_handoff"), ("6", "change_language"),
    ("0", "help"), ("MENU", "help"), ("menú", "help"),
])
def test_menu_digits_and_words(text, intent):
    hit = match(text)
    assert hit.kind == "menu" and hit.intent == intent


@pytest.mark.parametrize("text", [
    "cuanto sta la papa en huancayo", "va a helar mañana", "hola", "", "   ", "7", "12",
    "no", "para que sirve el biol", "salir a la chacra temprano", "me toca regar mañana",
    "golpe de helada en la papa", "la helada maltrata mis plantas", "dejen de vender barato",
    "se me pega el arroz en la olla", "me pega el sol muy fuerte en la chacra",
    "me pega el frio en la noche", "me quitaron mi dni en la feria",
    "mi esposo me quito el miedo a la helada", "con mi pareja vendemos la papa",
])
def test_everything_else_goes_to_the_model(text):
    assert match(text) is None


def test_normalise_strips_accents_but_keeps_enye():
    assert normalise("  ¿Cuánto está   la PAPA en Junín?! ") == "cuanto esta la papa en junin"
    assert normalise("Mañana") == "mañana"
