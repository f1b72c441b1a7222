"""Person names by region, so a Dominican shortstop and a Finnish goaltender sound like one.

The pools are modest but wide enough that two athletes share a full name only when the world
makes them namesakes on purpose (``generate`` redraws accidental repeats). They include the
shapes that make handle derivation and matching non-trivial: apostrophes (De'Aaron), hyphens
(Alexander-Arnold), particles (van Dijk) and accents (Dončić), which folding must remove.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NamePool:
    """Men's and women's first names and family names of one region."""

    male: tuple[str, ...]
    female: tuple[str, ...]
    last: tuple[str, ...]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


_POOLS_TEXT: dict[str, tuple[str, str, str]] = {
    "en": (
        "James, Michael, John, Robert, David, William, Chris, Brandon, Tyler, Justin, Kevin, "
        "Anthony, Jalen, Jaylen, DeAndre, Marcus, Malik, Darius, Isaiah, Josh, Jordan, Devin, "
        "Derrick, Trevor, Cody, Bryce, Tanner, Austin, Zach, Kyle, Ryan, Connor, Logan, Mason, "
        "Caleb, Cameron, Travis, Jamal, Trey, Tre, Damian, Jayson, Kawhi, Russell, Dwayne, "
        "De'Aaron, Ja'Marr, Patrick, Aaron, Lamar, Tua, Jake, Luke, Noah, Liam, Ethan, Owen, "
        "Hunter, Garrett, Colby, Dalton, Terrell, Tyrese, Keenan, Stefon, Davante, Quinn, "
        "Brady, Evan, Sean, Nick, Matt, Andrew, Ben, Sam, Harry, Jack, Callum, Declan, Reece",
        "Jessica, Ashley, Sarah, Emily, Megan, Lauren, Kelsey, Brianna, Breanna, Aliyah, "
        "Caitlin, Paige, Sabrina, Kelsey, Alyssa, Morgan, Alex, Rose, Lindsey, Crystal, Jewell, "
        "Candace, Maya, Diana, Sue, Nneka, Skylar, Arike, Courtney, Kahleah, Jackie, Tina, "
        "Mallory, Sophia, Trinity, Naomi, Coco, Madison, Danielle, Sloane, Lily, Olivia, "
        "Chloe, Grace, Hannah, Emma, Ella, Abby, Tierna, Sha'Carri, Gabby, Allyson, Sydney",
        "Smith, Johnson, Williams, Brown, Jones, Davis, Miller, Wilson, Moore, Taylor, Thomas, "
        "Jackson, White, Harris, Martin, Thompson, Robinson, Clark, Lewis, Walker, Hall, Allen, "
        "Young, King, Wright, Scott, Green, Baker, Adams, Nelson, Carter, Mitchell, Roberts, "
        "Turner, Phillips, Campbell, Parker, Evans, Edwards, Collins, Stewart, Morris, Murphy, "
        "Cook, Rogers, Morgan, Cooper, Peterson, Reed, Bailey, Bell, Kelly, Howard, Ward, Cox, "
        "Richardson, Wood, Watson, Brooks, Bennett, Gray, James, Hughes, Price, Sanders, Myers, "
        "Long, Ross, Foster, Powell, Jenkins, Perry, Russell, Sullivan, Butler, Barnes, Fisher, "
        "Henderson, Coleman, Simmons, Patterson, Jordan, Reynolds, Hamilton, Graham, Wallace, "
        "Harden, Curry, Durant, Tatum, Mahomes, Kelce, Burrow, Lillard, Mitchell, Bridges, "
        "Hurts, Chase, Jefferson, Diggs, Adebayo, Holloway, McDavid, MacKinnon, Crosby, "
        "Marner, Matthews, Tkachuk, Eichel, Stamkos, O'Neal, McCaffrey, Smith-Schuster, "
        "Alexander-Arnold, Ward-Prowse, Saka, Rice, Foden, Kane, Sterling, Grealish, Trippier, "
        "Stokes, Plumlee, Gobert, Gallagher, Doherty, Brennan, Quinlan, Fitzgerald, Donovan",
    ),
    "es": (
        "Carlos, Juan, Luis, Jose, Miguel, Rafael, Alejandro, Diego, Javier, Sergio, Pablo, "
        "Álvaro, Fernando, Marcos, Adrian, Raul, Ivan, Hector, Julio, Ronald, Yordan, Vladimir, "
        "Wander, Jazz, Framber, Cristian, Ezequiel, Lautaro, Julian, Enzo, Rodrigo, Mateo, "
        "Nicolas, Gonzalo, Andres, Santiago, Emiliano, Dani, Nico, Ferran, Alejandro",
        "Maria, Lucia, Paula, Carla, Laura, Marta, Aitana, Alexia, Jennifer, Irene, Garbine, "
        "Sara, Andrea, Ana, Mariana, Valentina, Camila, Daniela, Sofia, Catalina",
        "Garcia, Rodriguez, Martinez, Hernandez, Lopez, Gonzalez, Perez, Sanchez, Ramirez, "
        "Torres, Flores, Rivera, Gomez, Diaz, Reyes, Morales, Ortiz, Gutierrez, Ruiz, Alvarez, "
        "Castillo, Jimenez, Moreno, Romero, Herrera, Medina, Aguilar, Vargas, Castro, Soto, "
        "Guerrero, Mendoza, Acuña, Alcaraz, Soler, Tatis, Arraez, Peña, Marte, Valdez, Paredes, "
        "Olmo, Pedri, Navas, Iglesias, Carvajal, Busquets, Pique, Oyarzabal, Llorente, Núñez",
    ),
    "pt": (
        "João, Pedro, Rafael, Bruno, Diogo, Bernardo, Ruben, Vitor, Gabriel, Lucas, Vinicius, "
        "Rodrygo, Neymar, Thiago, Casemiro, Matheus, Gustavo, Felipe, Marquinhos, Everton",
        "Ana, Beatriz, Marta, Debinha, Kerolin, Adriana, Tamires, Ludmila, Camila, Leticia",
        "Silva, Santos, Oliveira, Souza, Pereira, Costa, Ferreira, Almeida, Carvalho, Gomes, "
        "Martins, Rocha, Ribeiro, Fernandes, Dias, Cancelo, Mendes, Leao, Neves, Paqueta, "
        "Jesus, Dos Santos, Nascimento, Moura, Barbosa",
    ),
    "fr": (
        "Kylian, Antoine, Olivier, Hugo, Paul, Théo, Lucas, Aurélien, Eduardo, Ousmane, "
        "Kingsley, Jules, Victor, Rudy, Evan, Nicolas, Benjamin, Pierre, Sadio, Ismaila, "
        "Idrissa, Kalidou, Wilfried, Sebastien, Arnaud, Gael, Ugo, Corentin, Mathis, Yves",
        "Marie, Camille, Lea, Manon, Caroline, Wendie, Kadidiatou, Amandine, Eugenie, Alize, "
        "Marine, Clara, Oceane, Ines, Chloe",
        "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, "
        "Simon, Laurent, Lefebvre, Michel, Fournier, Girard, Bonnet, Mbappé, Griezmann, Giroud, "
        "Lloris, Kanté, Pogba, Dembélé, Coman, Koundé, Tchouaméni, Camavinga, Saliba, Gobert, "
        "Diallo, Mane, Sarr, Koulibaly, Gueye, Zaha, Kessie, Ndiaye, Traore, Wembanyama",
    ),
    "de": (
        "Thomas, Manuel, Joshua, Leon, Florian, Kai, Jamal, Leroy, Antonio, Marc-Andre, Niklas, "
        "Julian, Lukas, Jonas, Max, Tim, Felix, Dennis, Moritz, Frenkie, Virgil, Memphis, "
        "Matthijs, Denzel, Cody, Xavi, Dominik, Marcel, David, Stefan",
        "Alexandra, Lena, Lea, Giulia, Sara, Klara, Vivianne, Lieke, Jill, Daphne, Jackie, "
        "Sophie, Laura, Anna, Svenja",
        "Müller, Neuer, Kimmich, Goretzka, Wirtz, Havertz, Musiala, Sané, Rüdiger, Ter Stegen, "
        "Süle, Brandt, Gündoğan, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, "
        "Schulz, Hoffmann, Koch, Richter, Klein, Wolf, Schröder, Van Dijk, De Jong, Depay, "
        "De Ligt, Dumfries, Gakpo, Simons, Van der Berg, Bakker, Visser, Janssen, Alaba, Xhaka",
    ),
    "nordic": (
        "Erling, Martin, Viktor, Mikkel, Christian, Kasper, Rasmus, Emil, Oscar, Elias, Mika, "
        "Sebastian, Aleksander, Jesper, Henrik, Patrik, Teemu, Aleksi, Mattias, Karl, Lucas, "
        "Filip, Gustav, Mondo, Jakob, Casper, Victor, Anders",
        "Caroline, Ada, Emma, Ingrid, Sanna, Pernille, Stina, Frida, Hanna, Sofia, Maja, Elin",
        "Haaland, Ødegaard, Hansen, Johansson, Andersson, Karlsson, Nilsson, Eriksson, Larsson, "
        "Olsen, Pedersen, Nielsen, Jensen, Eriksen, Højlund, Schmeichel, Isak, Kulusevski, "
        "Forsberg, Hedman, Karlsson, Rantanen, Barkov, Aho, Laine, Duplantis, Warholm, "
        "Ingebrigtsen, Wozniacki, Rune, Ruud, Hovland, Aberg, Nordqvist, Virtanen",
    ),
    "it": (
        "Federico, Lorenzo, Nicolò, Gianluigi, Marco, Matteo, Alessandro, Giovanni, Davide, "
        "Andrea, Sandro, Leonardo, Riccardo, Francesco, Jannik, Lorenzo, Ciro, Giacomo, Luca",
        "Sara, Giulia, Martina, Jasmine, Cristiana, Barbara, Elisa, Valentina, Chiara, Camila",
        "Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, "
        "Bruno, Gallo, Conti, De Luca, Mancini, Costa, Giordano, Chiesa, Barella, Donnarumma, "
        "Bastoni, Tonali, Dimarco, Immobile, Scamacca, Sinner, Musetti, Paolini, Berrettini",
    ),
    "slav": (
        "Luka, Nikola, Novak, Bogdan, Nemanja, Dusan, Marko, Ivan, Mateo, Josko, Robert, "
        "Wojciech, Jakub, Tomas, David, Ondrej, Andrei, Daniil, Alexander, Nikita, Artemi, "
        "Evgeni, Igor, Sergei, Dmitri, Oleksandr, Goran, Dario, Jonas, Domantas",
        "Iga, Aryna, Petra, Karolina, Marketa, Barbora, Daria, Elena, Anastasia, Mirra, "
        "Elina, Marta, Katerina, Yulia, Magda",
        "Dončić, Jokić, Đoković, Bogdanović, Vlahović, Milinković-Savić, Modrić, Gvardiol, "
        "Kovačić, Perišić, Lewandowski, Szczęsny, Zieliński, Świątek, Hurkacz, Sabalenka, "
        "Kvitova, Pliskova, Vondrousova, Krejcikova, Pastrnak, Hertl, Kasatkina, Medvedev, "
        "Rublev, Ovechkin, Kucherov, Malkin, Panarin, Shesterkin, Vasilevskiy, Svitolina, "
        "Zinchenko, Mudryk, Sabonis, Valanciunas, Kopitar, Dragic, Oblak, Bednarek",
    ),
    "jp": (
        "Shohei, Yoshinobu, Seiya, Kodai, Yu, Masataka, Shota, Takefusa, Kaoru, Daichi, Kei, "
        "Hideki, Yuta, Rui, Ryo, Takumi, Yuki, Hiroki, Kenta, Sota",
        "Naomi, Nasa, Ayaka, Hina, Yui, Saki, Mana, Misaki, Nanami, Haruka, Rika, Mao",
        "Ohtani, Yamamoto, Suzuki, Senga, Darvish, Yoshida, Imanaga, Kubo, Mitoma, Kamada, "
        "Tomiyasu, Endo, Nishikori, Matsuyama, Hachimura, Watanabe, Kawamura, Tanaka, Sato, "
        "Takahashi, Ito, Nakamura, Kobayashi, Kato, Hata, Furuhashi, Osaka, Hasegawa",
    ),
    "kr": (
        "Heung-min, Hee-chan, Min-jae, Kang-in, Ha-seong, Jung-hoo, Tom, Si-woo, Sung-jae, "
        "Byeong-hun, Ji-sung, Woo-young",
        "Jin-young, Sei-young, In-gee, Hyo-joo, Na-yeon, A-lim, Ji-yai, So-yeon, Jeong-eun, "
        "Hye-jin",
        "Son, Hwang, Kim, Lee, Park, Choi, Jung, Kang, Cho, Yoon, Jang, Lim, Ko, Ryu, Bae",
    ),
    "cn": (
        "Zhang, Wei, Hao, Yibo, Jun, Lei",
        "Qinwen, Shuai, Xinyu, Lin, Ruoning, Xiyu, Yue, Mengyu",
        "Zheng, Wang, Li, Zhang, Liu, Chen, Yang, Zhao, Huang, Zhou, Wu, Xu, Yin, Guan",
    ),
    "af": (
        "Victor, Ademola, Samuel, Kelechi, Moses, Wilfred, Eliud, Kenenisa, Joshua, "
        "Thomas, Mohamed, Sadio, Achraf, Hakim, Youssef, Sofyan, Kalvin, Jordan, Andre, "
        "Yohan, Asafa, Usain, Kishane, Oblique, Hansle, Rasheed",
        "Faith, Beatrice, Hellen, Tigst, Gudaf, Tobi, Shericka, Shelly-Ann, Elaine, Asisat, "
        "Rhasidat, Ons, Asinat, Brigid, Mary",
        "Osimhen, Lookman, Iwobi, Ndidi, Aina, Simon, Kipchoge, Kipyegon, Chebet, Tsegay, "
        "Bekele, Girma, Amusan, Okagbare, Hakimi, Ziyech, Amrabat, Ounahi, En-Nesyri, Partey, "
        "Kudus, Ayew, Thomas, Jackson, Thompson, Fraser-Pryce, Bolt, Blake, Seville, "
        "Parchment, Williams-Mills, Kiprop, Cheruiyot, Jeptoo, Jabeur, Mbeumo, Onana",
    ),
    "gr": (
        "Giannis, Thanasis, Kostas, Stefanos, Nikos, Georgios, Vangelis, Cedi, Alperen, Kerem, "
        "Arda, Hakan",
        "Maria, Eleni, Despina, Katerina, Zeynep, Ebrar",
        "Antetokounmpo, Tsitsipas, Papadopoulos, Sloukas, Papanikolaou, Mitoglou, Osman, "
        "Şengün, Güler, Çalhanoğlu, Aktürkoğlu, Yildiz, Sakkari, Korkmaz, Demir",
    ),
}

# Where a country's athletes' names come from; countries not listed use "en".
_REGION_OF = {
    **dict.fromkeys(("ES", "AR", "MX", "CO", "VE", "UY", "DO", "CU", "PR", "CL", "PE"), "es"),
    **dict.fromkeys(("BR", "PT"), "pt"),
    **dict.fromkeys(("FR", "BE", "CH", "MC"), "fr"),
    **dict.fromkeys(("DE", "AT", "NL"), "de"),
    **dict.fromkeys(("SE", "NO", "DK", "FI"), "nordic"),
    "IT": "it",
    **dict.fromkeys(("RS", "HR", "SI", "CZ", "SK", "PL", "RU", "UA", "BY", "LT", "KZ"), "slav"),
    "JP": "jp", "KR": "kr", "CN": "cn", "TH": "cn",
    **dict.fromkeys(("NG", "KE", "ET", "SN", "CM", "CI", "GH", "MA", "TN", "UG", "JM"), "af"),
    **dict.fromkeys(("GR", "TR"), "gr"),
}


def name_pools() -> dict[str, NamePool]:
    """Every region's pool, de-duplicated; built on call so importing costs nothing."""
    return {
        region: NamePool(*(tuple(dict.fromkeys(_split(text))) for text in texts))
        for region, texts in _POOLS_TEXT.items()
    }


def region_of(country: str) -> str:
    """The name pool a country's athletes draw from."""
    return _REGION_OF.get(country, "en")
